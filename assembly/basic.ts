// Basic targets (kernel: write_msg; docs/wire.md 2): the console text, every line prefixed with the
// time when `timestamps` is on, cut into MAX_PRINT_CHUNK datagrams as it streams out (a cut may
// split a line or a UTF-8 sequence). Measured first, then written.
import { F_TIMESTAMPS, MAX_PRINT_CHUNK, TGT_FLAGS, THR_TSPFX } from './layout';
import { findNewline } from './fmt';
import { ensureNewlines, ensureTsPrefix, NEWLINE, nlCount, textAt, textLen, thr } from './record';
import { datagramBegin, datagramEnd, delivered, measured, messageBegin, msgCount } from './slots';

let pfx: i32 = 0; // the time prefix's length, 0 without timestamps
let endsNl: bool = false;
let rendered: i32 = 0;

export function measureBasic(tp: usize): void {
  if (textLen == 0) return measured(0, 0, 0); // empty text sends nothing
  ensureNewlines();
  pfx = load<i32>(tp + TGT_FLAGS) & F_TIMESTAMPS ? ensureTsPrefix() : 0;
  endsNl = load<u8>(textAt + <usize>(textLen - 1)) == 0x0a;
  const lines = nlCount + (endsNl ? 0 : 1);
  rendered = textLen + (endsNl ? 0 : 1) + lines * pfx;
  const count = (rendered + MAX_PRINT_CHUNK - 1) / MAX_PRINT_CHUNK;
  measured(count, MAX_PRINT_CHUNK, rendered - (count - 1) * MAX_PRINT_CHUNK);
}

// The open datagram ("chunk writer").
let cwRoom: i32 = 0; // bytes left in the open datagram
let cwLeft: i32 = 0; // bytes of console text not yet placed in a datagram
let cwLen: i32 = 0; // length of the open datagram
let cwAt: usize = 0; // where the next byte goes

function cwPut(src: usize, n: i32): void {
  while (n > 0) {
    if (cwRoom == 0) {
      if (cwLen > 0) datagramEnd(cwLen);
      cwLen = cwLeft < MAX_PRINT_CHUNK ? cwLeft : MAX_PRINT_CHUNK;
      cwAt = datagramBegin(cwLen);
      cwRoom = cwLen;
      cwLeft -= cwLen;
    }
    const k = n < cwRoom ? n : cwRoom;
    memory.copy(cwAt, src, <usize>k);
    cwAt += <usize>k;
    cwRoom -= k;
    src += <usize>k;
    n -= k;
  }
}

/** Writes the message measured last (its room planned). */
export function writeBasic(tp: usize, report: bool): void {
  if (msgCount == 0) return;
  messageBegin(report);
  cwRoom = 0;
  cwLen = 0;
  cwLeft = rendered;
  if (pfx == 0) {
    cwPut(textAt, textLen);
  } else {
    for (let start = 0; start < textLen; ) {
      const nl = findNewline(textAt, start, textLen);
      const end = nl < textLen ? nl + 1 : textLen; // the line with its newline, when it has one
      cwPut(thr + THR_TSPFX, pfx);
      cwPut(textAt + <usize>start, end - start);
      start = end;
    }
  }
  if (!endsNl) cwPut(NEWLINE, 1);
  datagramEnd(cwLen);
  delivered(tp, msgCount, rendered, report);
}
