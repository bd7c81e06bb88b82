// Rendering of a target's userdata as the write path sends it (docs/wire.md 3.2): " key=value\n" for
// each entry with a non-empty value, in creation order, not escaped. Rendered once when userdata
// changes, never per message.
export function renderUserdata(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  let size = 0;
  for (const [k, v] of entries) if (v.length > 0) size += k.length + v.length + 3;
  const out = new Uint8Array(size);
  let o = 0;
  for (const [k, v] of entries) {
    if (v.length === 0) continue;
    out[o++] = 0x20;
    out.set(k, o);
    o += k.length;
    out[o++] = 0x3d;
    out.set(v, o);
    o += v.length;
    out[o++] = 0x0a;
  }
  return out;
}
