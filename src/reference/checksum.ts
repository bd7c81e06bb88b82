// RFC 1071 Internet checksum, written for clarity: the IPv4 header checksum and the UDP checksum
// of docs/wire.md section 4 are both this, over different bytes.

/**
 * The 16-bit ones'-complement sum of big-endian 16-bit words (an odd trailing byte is the high
 * byte of a word whose low byte is 0), plus `init`, folded to 16 bits and NOT inverted. Taking
 * `init` lets a caller sum a pseudo-header and a payload separately.
 */
export function onesComplementSum(bytes: Uint8Array, init = 0): number {
  let sum = init;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  // A double holds integers to 2^53, so one fold loop at the end is exact for any buffer we can
  // allocate (2^53 / 0xffff words is far beyond memory).
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value: the complement of the sum. */
export function internetChecksum(bytes: Uint8Array, init = 0): number {
  return ~onesComplementSum(bytes, init) & 0xffff;
}
