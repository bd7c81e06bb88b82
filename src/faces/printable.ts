// Text from elsewhere (a target name, a userdata value, a server's message) made safe to print on
// one line of a terminal: it cannot start a new line, move the cursor, recolour or retitle the
// terminal, or reorder what follows (bidi controls). Printable text, in any script, is left as it is.

/** What a line may not hold: control characters (C0, DEL, C1), format characters (bidi controls,
 *  zero-width ones), line and paragraph separators, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
/** The same, and the backslash, where the escapes must be unambiguous (names, values). */
const UNSAFE_OR_BACKSLASH = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Like `ls -b`: \\ \n \r \t by name, \xHH up to 0xff, \u{H} beyond. */
function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** A name or a value, escaped: a backslash doubled, so that `a\nb` and a name with a newline differ. */
export function printable(text: string): string {
  return text.replace(UNSAFE_OR_BACKSLASH, escapeOne);
}

/** A message (an error's, a server's) on one line: line breaks become one space, the rest is
 *  escaped as printable() does, but for the backslash: a message is prose, and the values it
 *  quotes are JSON, whose escapes would come out doubled. */
export function printableMessage(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(UNSAFE, escapeOne);
}

/** A JSON \uXXXX escape for each UTF-16 unit of `c` (a format character can be outside the BMP: U+E0001). */
function jsonEscape(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * A value of any kind on one printable line: a string as printable(), anything else as JSON, with
 * what JSON leaves raw (DEL, C1, format characters, separators) escaped so the line is still JSON.
 */
export function printableValue(value: unknown): string {
  if (typeof value === 'string') return printable(value);
  return (JSON.stringify(value) ?? String(value)).replace(UNSAFE, jsonEscape);
}
