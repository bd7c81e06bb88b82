// The plain-TypeScript reference implementation of docs/wire.md: obvious rather than
// fast, the oracle the WebAssembly path is tested against (ARCHITECTURE.md, convention 9).
export { escapeExtended, needsEscape, ESCAPE_LEN } from './escape.js';
export { onesComplementSum, internetChecksum } from './checksum.js';
export { referenceDatagrams, timestampPrefix, escapeSafeCut, type ReferenceResult } from './datagrams.js';
export { referenceFrame, type FrameAddresses } from './frame.js';
