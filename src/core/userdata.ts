// Rendering of a target's userdata as the write path sends it (docs/wire.md 3.2): " key=value\n" for
// each entry with a non-empty value, in creation order. Rendered once when userdata changes, never
// per message. The key as it is (it carries no control byte: config/userdata.ts, validate.ts); in
// the value, control bytes as `\xHH`, everything else as it is. The kernel sends the value raw, so
// that a value `v\nFAKE=1` forges a line of its own; here it is ` key=v\x0aFAKE=1`, and every value
// without a control byte is sent exactly as the kernel sends it.
import { InvalidValueError } from '../base/errors.js';
import { L } from './layout.js';

const HEX = '0123456789abcdef';

type Entries = Iterable<readonly [Uint8Array, Uint8Array]>;

function isControl(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

/** The bytes a value takes in the rendering: each control byte becomes 4. */
export function renderedValueLength(value: Uint8Array): number {
  let n = value.length;
  for (const b of value) if (isControl(b)) n += 3;
  return n;
}

/** The bytes of the rendering: " key=value\n" for each entry with a value, control bytes as 4.
 *  The one count of them: the write path's buffer, netconsole/wire's and configfs' checks. */
export function renderedUserdataSize(entries: Entries): number {
  let size = 0;
  for (const [k, v] of entries) if (v.length > 0) size += k.length + renderedValueLength(v) + 3;
  return size;
}

/** ENOSPC when the rendering does not fit the target's userdata buffer (UD_BUF_SIZE, 64 KiB: the
 *  kernel's MAX_EXTRADATA_ENTRY_LEN * MAX_USERDATA_ITEMS bound of update_userdata). */
export function checkUserdataFits(entries: Entries): void {
  const size = renderedUserdataSize(entries);
  if (size > L.UD_BUF_SIZE) {
    throw new InvalidValueError(
      'ENOSPC',
      'userdata',
      size,
      `at most ${L.UD_BUF_SIZE} bytes of " key=value\\n" lines`,
      'rendered userdata does not fit:',
    );
  }
}

export function renderUserdata(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  const out = new Uint8Array(renderedUserdataSize(entries));
  let o = 0;
  for (const [k, v] of entries) {
    if (v.length === 0) continue;
    out[o++] = 0x20;
    out.set(k, o);
    o += k.length;
    out[o++] = 0x3d;
    for (const b of v) {
      if (!isControl(b)) {
        out[o++] = b;
        continue;
      }
      out[o++] = 0x5c; // \xHH
      out[o++] = 0x78;
      out[o++] = HEX.charCodeAt(b >> 4);
      out[o++] = HEX.charCodeAt(b & 0xf);
    }
    out[o++] = 0x0a;
  }
  return out;
}
