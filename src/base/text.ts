// Small facts about text shared by the validators of the configuration (config/attribute-write.ts, store-text.ts)
// and of the encoding API (validate.ts).

export const U64_MAX = (1n << 64n) - 1n;

const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

// String.prototype.isWellFormed exists from Node 20 (V8 11.1) but is typed only in lib es2024.
/** Whether `text` has no lone surrogate (which UTF-8 cannot carry). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
