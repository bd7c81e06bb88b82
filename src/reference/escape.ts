// The extended-console escaping of docs/wire.md 3.1 (the kernel's msg_add_ext_text): control bytes,
// bytes 0x7f and above, and the backslash become `\xHH`, so a receiver can split the message at
// `\n` and `;` and still recover every byte. The backslash is escaped so that `\x` in the output
// is always an escape; truncation relies on that (docs/wire.md 3.4).

/** Bytes per escape: `\`, `x`, two hex digits. */
export const ESCAPE_LEN = 4;
const BACKSLASH = 0x5c;
const HEX_DIGITS = '0123456789abcdef';

export function needsEscape(byte: number): boolean {
  return byte < 0x20 || byte >= 0x7f || byte === BACKSLASH;
}

export function escapeExtended(bytes: Uint8Array): Uint8Array {
  let size = 0;
  for (const b of bytes) size += needsEscape(b) ? ESCAPE_LEN : 1;
  const out = new Uint8Array(size);
  let o = 0;
  for (const b of bytes) {
    if (!needsEscape(b)) {
      out[o++] = b;
      continue;
    }
    out[o++] = BACKSLASH;
    out[o++] = 0x78; // 'x'
    out[o++] = HEX_DIGITS.charCodeAt(b >> 4);
    out[o++] = HEX_DIGITS.charCodeAt(b & 0xf);
  }
  return out;
}

/** A control byte: what a userdata value may not carry raw (a newline would start a line of its
 *  own, a forged ` KEY=value` line). */
export function isControl(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

/** docs/wire.md 3.2: a userdata value's control bytes as `\xHH`; every other byte (the backslash
 *  and UTF-8 included) as it is, as the kernel sends it. */
export function escapeUserdataValue(bytes: Uint8Array): Uint8Array {
  if (!bytes.some(isControl)) return bytes;
  const out: number[] = [];
  for (const b of bytes) {
    if (isControl(b)) out.push(BACKSLASH, 0x78, HEX_DIGITS.charCodeAt(b >> 4), HEX_DIGITS.charCodeAt(b & 0xf));
    else out.push(b);
  }
  return Uint8Array.from(out);
}
