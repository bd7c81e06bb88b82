// One owner per limit (issue 19): the limits of a record and of its options live in
// src/base/limits.ts; written again as a bare number elsewhere in src/, a copy can drift from it
// (maxTotal had two answers, 1..65532 and 1..60000). A grep-level check over the TypeScript sources,
// comments left out (a doc comment may say "0..23"; code and messages may not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FACILITY_MAX, MAX_TASKNAME, MAX_TOTAL_MAX, PRIO_MAX, RELEASE_MAX } from '../src/base/limits.js';
import { L } from '../src/core/layout.js';
import { encodeMessage } from '../src/core/wire.js';
import { resolveOptions } from '../src/host/resolve.js';
import { NetconsoleError } from '../src/base/errors.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const OWNER = 'base/limits.ts';

interface Rule {
  limit: string;
  /** The literal, on a line of code (comments removed). */
  literal: RegExp;
  /** For a number common in other meanings: the limit counts only when the line or the 5 before
   *  it (comments included) speak of it. */
  about?: RegExp;
}

export const RULES: Rule[] = [
  { limit: 'FACILITY_MAX (23)', literal: /\b23\b/ },
  { limit: 'PRIO_MAX (191)', literal: /\b191\b/ },
  { limit: 'MAX_TASKNAME (15)', literal: /\b15\b/, about: /task|comm\b/i },
  { limit: 'RELEASE_MAX (64)', literal: /\b64\b/, about: /release|uts/i },
  { limit: 'MAX_TOTAL_MAX (65532)', literal: /\b65_?532\b|ESC_MAX\s*-\s*4\b/ },
  { limit: 'MAX_TOTAL_MAX (maxTotal, once 60000)', literal: /\b60_?000\b/, about: /maxTotal|MAX_TOTAL/ },
  { limit: 'USERDATA_KEY_MAX (53)', literal: /\b53\b/, about: /userdata|extradata/i },
  { limit: 'USERDATA_VALUE_MAX (199)', literal: /\b199\b/, about: /userdata|extradata/i },
  { limit: 'USERDATA_ITEMS_MAX (256)', literal: /\b256\b/, about: /userdata|extradata/i },
  // The room of THR_OUT (one frame) is the layout's: THR_RPT - THR_OUT.
  { limit: "THR_OUT's room (2048)", literal: /\b2048\b/ },
];

/**
 * Literals left where they are, with the reason. An entry matches a file and the trimmed code of
 * a line; when that line changes, its entry stops matching (and the test speaks if the literal is
 * still there).
 */
const ALLOWED: Array<{ file: string; code: string; why: string }> = [
  {
    file: 'receiver/ncrx-parse.ts',
    code: 'const RELEASE_SCAN = 64;',
    why: "libncrx's scan for a release prefix (64 bytes of its buffer), not the release length",
  },
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The text with comments blanked, lines kept: block comments, and `//` at a line's start or
 *  after a space (so that a URL in a string, `https://`, stays). */
function codeOnly(text: string): string[] {
  const noBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return noBlocks.split('\n').map((l) => l.replace(/(^|\s)\/\/.*$/, '$1'));
}

/** "file:line: limit: code" for every bare limit in `text` (a file of src/, `rel` its path). */
export function bareLimits(rel: string, text: string): string[] {
  if (rel === OWNER) return [];
  const raw = text.split('\n');
  const code = codeOnly(text);
  const out: string[] = [];
  code.forEach((line, i) => {
    for (const rule of RULES) {
      if (!rule.literal.test(line)) continue;
      if (rule.about && !rule.about.test(raw.slice(Math.max(0, i - 5), i + 1).join('\n'))) continue;
      const trimmed = line.trim();
      if (ALLOWED.some((a) => a.file === rel && a.code === trimmed)) continue;
      out.push(`${rel}:${i + 1}: ${rule.limit}: ${trimmed}`);
    }
  });
  return out;
}

test('no limit of base/limits.ts is written as a bare number elsewhere in src/', () => {
  const found = sources(SRC).flatMap((f) => bareLimits(relative(SRC, f), readFileSync(f, 'utf8')));
  assert.deepEqual(
    found,
    [],
    `import these from src/base/limits.ts (or add them to ALLOWED with a reason):\n${found.join('\n')}`,
  );
});

test('the check finds each limit written bare, and not in a comment or another meaning', () => {
  const planted = [
    "toInt('facility', v, 0, 23);",
    "toInt('prio', v, 0, 191);",
    '// the taskname\nconst n = Math.min(name.length, 15);',
    "optionalString('release', value, 64, true);",
    "int('maxTotal', v, 1, L.ESC_MAX - 4);",
    "toInt('maxTotal', v, 1, 60000);",
    'const room = 2048;',
    "if (k.length > 53) throw new TooLargeError('userdata key', k.length, 53);",
    '// userdata values\nconst VALUE_MAX = 199;',
    "if (items >= 256) throw new InvalidValueError('ENOSPC', 'userdata', items, 'at most 256 entries');",
  ];
  for (const text of planted) assert.equal(bareLimits('core/x.ts', text).length, 1, text);
  const innocent = [
    '/** Syslog facility, 0..23. */\nconst a = 1;',
    'const x = 1; // prio 0..191',
    'const loopback = (i === 15 ? b === 1 : b === 0);',
    'const MAX_DEPTH = 64;',
    "int('pollIntervalMs', v, 10, 60_000, 500);",
    'const FACILITY = 23;', // in the owner itself
  ];
  for (const text of innocent.slice(0, -1)) assert.deepEqual(bareLimits('core/x.ts', text), [], text);
  assert.deepEqual(bareLimits(OWNER, innocent.at(-1)!), []);
});

test('the limits agree with the layout and the kernel figures they stand for', () => {
  // mem_init (assembly/index.ts) refuses a maxTotal above ESC_MAX - 4.
  assert.equal(MAX_TOTAL_MAX, L.ESC_MAX - 4);
  assert.equal(PRIO_MAX, 191);
  assert.equal(FACILITY_MAX, 23);
  // The shared memory has room for them: a taskname in THR_TASK (16 bytes), a release in TGT_REL (64).
  assert.ok(MAX_TASKNAME < L.THR_SEQ - L.THR_TASK);
  assert.ok(RELEASE_MAX <= L.TGT_SYSREL - L.TGT_REL);
});

test('maxTotal: create() and netconsole/wire accept and refuse the same bounds', async () => {
  // 40,000 bytes whose escaped form (100,000) is over every maxTotal: each cap cuts it.
  const record = { level: 6, seq: 1, tsUsec: 2, text: '\u0001x'.repeat(20_000) };
  const target = { extended: true };
  const byCreate = async (maxTotal: number): Promise<string> => {
    try {
      await resolveOptions({ maxTotal, env: false, devices: 'none', targets: [] });
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof NetconsoleError, String(e));
      return e.code;
    }
  };
  const byWire = (maxTotal: number, impl: 'wasm' | 'reference'): string => {
    try {
      encodeMessage(record, target, { maxTotal, impl });
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof NetconsoleError, String(e));
      return e.code;
    }
  };
  for (const [maxTotal, expected] of [
    [0, 'ERANGE'],
    [1, 'accepted'],
    [60_000, 'accepted'],
    [60_001, 'accepted'],
    [MAX_TOTAL_MAX, 'accepted'],
    [MAX_TOTAL_MAX + 1, 'ERANGE'],
  ] as const) {
    assert.equal(await byCreate(maxTotal), expected, `create() maxTotal ${maxTotal}`);
    assert.equal(byWire(maxTotal, 'wasm'), expected, `netconsole/wire (wasm) maxTotal ${maxTotal}`);
    assert.equal(byWire(maxTotal, 'reference'), expected, `netconsole/wire (reference) maxTotal ${maxTotal}`);
  }
  // At the largest, the WebAssembly path writes what the reference does.
  const wasm = encodeMessage(record, target, { maxTotal: MAX_TOTAL_MAX });
  const reference = encodeMessage(record, target, { maxTotal: MAX_TOTAL_MAX, impl: 'reference' });
  assert.equal(wasm.truncated, true);
  assert.deepEqual(wasm, reference);
});

// The ring's slot size and the target table's length are the layout's (assembly/layout.ts
// SLOT_ALIGN, MAX_TARGETS), generated for the host and the addon: a slot stepped by a bare
// `(len + 15) & ~15`, or a 64-target table written again, can drift from it.
test('the slot alignment and MAX_TARGETS are written once (layout.ts), in src/, assembly/ and native/', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const files = ['src', 'assembly', 'native'].flatMap((d) =>
    readdirSync(join(root, d), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.(ts|cc|h)$/.test(e.name))
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)),
  );
  const generated = new Set(['assembly/layout.ts', 'src/core/layout-table.ts', 'native/layout.h']);
  const found: string[] = [];
  for (const f of files) {
    const rel = relative(root, f);
    if (generated.has(rel)) continue;
    codeOnly(readFileSync(f, 'utf8')).forEach((line, i) => {
      if (/\+\s*15\)?\s*&\s*~|&\s*~\s*(uint64_t\{)?15\b|&\s*-16\b/.test(line))
        found.push(`${rel}:${i + 1}: slot alignment: ${line.trim()}`);
      if (/kMaxTargets\s*=\s*\d|MAX_TARGETS\s*=\s*\d/.test(line))
        found.push(`${rel}:${i + 1}: MAX_TARGETS: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
  assert.equal(L.SLOT_ALIGN, 16);
});
