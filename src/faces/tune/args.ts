// The command lines of the tuner (and of bench/run.ts, the runner) (node:util parseArgs), with two mends:
// * a negative number after an option that takes a value is that value: `--count -5` is refused
//   for what it is (a count below 1), where parseArgs calls it "ambiguous" and suggests
//   `--count=-XYZ`; commander, which parses the other commands, takes it as the value too;
// * an empty value is not 0: Number() reads '' and ' ' as 0, and `--rate ''` was a rate of 0.

interface OptionSpec {
  type: 'string' | 'boolean';
}

/** What looks like a negative number: -5, -0.5, -1e3, -100,200 (a list). */
const NEGATIVE = /^-[\d.]/;

/** `argv` with `--name -5` written `--name=-5` for each option of type string. */
export function negativeValues(argv: readonly string[], options: Readonly<Record<string, OptionSpec>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return [...out, ...argv.slice(i)];
    const spec = a.startsWith('--') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && i + 1 < argv.length && NEGATIVE.test(argv[i + 1])) out.push(`${a}=${argv[++i]}`);
    else out.push(a);
  }
  return out;
}

/** A parse error in one line (parseArgs's "ambiguous" message had three). */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/**
 * `v` as an integer in [min, max], or a TypeError `<name> must be an integer min..max, got v`;
 * `dflt` when the option was not given.
 */
export function intOption(name: string, v: string | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new TypeError(`${name} must be an integer ${min}..${max}, got ${v.trim() === '' ? JSON.stringify(v) : v}`);
  return n;
}
