// One message's `ncfrag` fragments, as libncrx merges them (ncrx_queue_payload): a buffer the
// size of the first fragment's total, where the first copy of each byte wins.
//
// Cost: linear in the bytes received. A fragment only looks at its own range of the coverage
// map, and finds the runs it still lacks with Buffer.indexOf (memchr), so n overlapping
// fragments cost O(sum of their lengths), not the O(n^2 log n) of keeping a list of ranges and
// sorting it on every fragment (8,189 overlapping 2-byte fragments took 0.5 - 4.8 s that way).

export type AddResult = 'added' | 'duplicate' | 'refused';

export class FragmentBuffer {
  readonly data: Buffer;
  /** 1 where a byte arrived, 0 where it is missing (libncrx marks missing bytes with NUL in the text itself). */
  private readonly have: Buffer;
  private missing: number;

  constructor(total: number) {
    this.data = Buffer.alloc(total);
    this.have = Buffer.alloc(total);
    this.missing = total;
  }

  /** Bytes held for this message (text and coverage map), for the pending-bytes bound. */
  get cost(): number {
    return this.data.length * 2;
  }

  get complete(): boolean {
    return this.missing === 0;
  }

  /**
   * N15 (ncrx_queue_payload): a fragment that does not fit the buffer the first one sized is
   * refused (netconsd then prints the datagram as a legacy line); bytes already received are kept.
   */
  add(offset: number, bytes: Buffer): AddResult {
    const end = offset + bytes.length;
    if (offset >= this.data.length || end > this.data.length) return 'refused';
    const window = this.have.subarray(offset, end);
    const before = this.missing;
    let gap = window.indexOf(0);
    while (gap >= 0) {
      let filled = window.indexOf(1, gap);
      if (filled < 0) filled = window.length;
      bytes.copy(this.data, offset + gap, gap, filled);
      window.fill(1, gap, filled);
      this.missing -= filled - gap;
      gap = filled < window.length ? window.indexOf(0, filled) : -1;
    }
    return this.missing < before ? 'added' : 'duplicate';
  }

  /** N17: the text up to the first missing byte, which is what netconsd prints (%s stops at the NUL). */
  received(): Buffer {
    const hole = this.have.indexOf(0);
    return hole < 0 ? this.data : this.data.subarray(0, hole);
  }
}
