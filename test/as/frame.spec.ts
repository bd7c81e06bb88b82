// frame.ts: Ethernet + IPv4/IPv6 + UDP headers around a payload (docs/wire.md 4), against the known
// answers of docs/wire.md / shared/vectors/wire.json (`frames`) and a naive checksum model.
import { frameBuild, frameOverhead } from '../../assembly/frame';
import { frame_build } from '../../assembly/index';
import {
  ADDR_DST_IP,
  ADDR_DST_MAC,
  ADDR_DST_PORT,
  ADDR_FAMILY,
  ADDR_SIZE,
  ADDR_SRC_IP,
  ADDR_SRC_MAC,
  ADDR_SRC_PORT,
  E_BADARG,
  E_BADTHREAD,
  THR_ADDR,
  THR_OUT,
  THR_TEXT,
} from '../../assembly/layout';
import { threadAt } from '../../assembly/offsets';
import { be16, diffMem, fillRandom, fold, heapBelowRegions, naiveSum, putHex, putStr } from './support';

const ADDR: usize = threadAt(0) + THR_ADDR; // the addressing block (64 bytes)
const FRAME: usize = threadAt(0) + THR_OUT; // the frame (2048 bytes)
const WANT: usize = threadAt(0) + THR_TEXT; // expected frames, and payload copies at +4096

const PAYLOAD = '13,434,54928466,-;netconsole selftest\n'; // 38 bytes
// wire.json frames[0] (ipv4-selftest) and frames[1] (ipv6-selftest), whole frames.
const FRAME_V4 =
  '020000000002020000000001080045000042000100004011f6a6c0000201c00002021a091a0a002e94bd' +
  '31332c3433342c35343932383436362c2d3b6e6574636f6e736f6c652073656c66746573740a';
const FRAME_V6 =
  '02000000000202000000000186dd60000000002e1120fc000000000000000000000000000001fc000000000000' +
  '0000000000000000021a091a0a002e20bd31332c3433342c35343932383436362c2d3b6e6574636f6e736f6c652073656c66746573740a';

/** Writes an addressing block: 02:00:00:00:00:01 -> 02:00:00:00:00:02, ports in host order
 *  (little-endian u16), 192.0.2.1 -> 192.0.2.2 or fc00::1 -> fc00::2. */
function setAddr(family: i32, srcPort: u16, dstPort: u16): void {
  memory.fill(ADDR, 0, ADDR_SIZE);
  putHex(ADDR + ADDR_DST_MAC, '020000000002');
  putHex(ADDR + ADDR_SRC_MAC, '020000000001');
  store<u8>(ADDR + ADDR_FAMILY, <u8>family);
  store<u16>(ADDR + ADDR_SRC_PORT, srcPort);
  store<u16>(ADDR + ADDR_DST_PORT, dstPort);
  if (family == 6) {
    putHex(ADDR + ADDR_SRC_IP, 'fc000000000000000000000000000001');
    putHex(ADDR + ADDR_DST_IP, 'fc000000000000000000000000000002');
  } else {
    putHex(ADDR + ADDR_SRC_IP, 'c0000201');
    putHex(ADDR + ADDR_DST_IP, 'c0000202');
  }
}

function ipOf(): usize {
  return FRAME + 14;
}
function udpOf(family: i32): usize {
  return FRAME + 14 + (family == 6 ? 40 : 20);
}
function payloadOf(family: i32): usize {
  return FRAME + <usize>frameOverhead(family);
}

/** The sum a receiver verifies: pseudo-header + UDP header + payload, folded (0xffff = valid). */
function udpVerifySum(family: i32, payloadLen: i32): u32 {
  const alen = family == 6 ? 16 : 4;
  const udpLen = 8 + payloadLen;
  const s = naiveSum(ADDR + ADDR_SRC_IP, alen) + naiveSum(ADDR + ADDR_DST_IP, alen) + 17 + <u64>udpLen;
  return fold(s + naiveSum(udpOf(family), udpLen));
}

/** The builder's input sum with the checksum field zero, from the addressing block alone. */
function udpInputSum(family: i32, payload: usize, payloadLen: i32): u32 {
  const alen = family == 6 ? 16 : 4;
  const udpLen = <u64>(8 + payloadLen);
  let s = naiveSum(ADDR + ADDR_SRC_IP, alen) + naiveSum(ADDR + ADDR_DST_IP, alen) + 17 + udpLen;
  s += <u64>load<u16>(ADDR + ADDR_SRC_PORT) + <u64>load<u16>(ADDR + ADDR_DST_PORT) + udpLen;
  return fold(s + naiveSum(payload, payloadLen));
}

const FAMILIES: i32[] = [4, 6];
let famCursor = 0;
let famCursor2 = 0;
let famCursor3 = 0;

describe('frame.frameBuild', () => {
  it('IPv4 known answer (docs/wire.md 4): whole frame, IPv4 checksum 0xf6a6, UDP checksum 0x94bd', () => {
    setAddr(4, 6665, 6666);
    const n = putStr(payloadOf(4), PAYLOAD);
    expect<i32>(n).toBe(38);
    const len = frameBuild(ADDR, FRAME, n, 1);
    expect<i32>(len).toBe(80);
    expect<u32>(be16(ipOf() + 10)).toBe(0xf6a6, 'IPv4 header checksum');
    expect<u32>(be16(udpOf(4) + 6)).toBe(0x94bd, 'UDP checksum');
    expect<i32>(putHex(WANT, FRAME_V4)).toBe(80);
    expect<i32>(diffMem(FRAME, WANT, 80)).toBe(-1, 'first byte differing from wire.json');
  });

  it('IPv6 known answer (docs/wire.md 4): whole frame, UDP checksum 0x20bd', () => {
    setAddr(6, 6665, 6666);
    const n = putStr(payloadOf(6), PAYLOAD);
    const len = frameBuild(ADDR, FRAME, n, 1);
    expect<i32>(len).toBe(100);
    expect<u32>(be16(udpOf(6) + 6)).toBe(0x20bd, 'UDP checksum');
    expect<i32>(putHex(WANT, FRAME_V6)).toBe(100);
    expect<i32>(diffMem(FRAME, WANT, 100)).toBe(-1, 'first byte differing from wire.json');
  });

  it('frameOverhead: 42 for IPv4, 62 for IPv6', () => {
    expect<i32>(frameOverhead(4)).toBe(42);
    expect<i32>(frameOverhead(6)).toBe(62);
  });

  it('IPv4 header fields: ethertype 0x0800, 0x45, TOS 0, lengths, ID, DF not set, TTL 64, protocol 17', () => {
    setAddr(4, 0x1234, 0xabcd);
    fillRandom(payloadOf(4), 100, 7);
    const len = frameBuild(ADDR, FRAME, 100, 0x12345); // the ID keeps its low 16 bits
    const ip = ipOf();
    const udp = udpOf(4);
    expect<i32>(len).toBe(142);
    expect<i32>(diffMem(FRAME, ADDR + ADDR_DST_MAC, 6)).toBe(-1, 'destination MAC');
    expect<i32>(diffMem(FRAME + 6, ADDR + ADDR_SRC_MAC, 6)).toBe(-1, 'source MAC');
    expect<u32>(be16(FRAME + 12)).toBe(0x0800, 'ethertype');
    expect<u8>(load<u8>(ip)).toBe(0x45, 'version/IHL');
    expect<u8>(load<u8>(ip + 1)).toBe(0, 'TOS');
    expect<u32>(be16(ip + 2)).toBe(128, 'total length');
    expect<u32>(be16(ip + 4)).toBe(0x2345, 'identification');
    expect<u32>(be16(ip + 6)).toBe(0, 'flags/fragment offset (DF not set)');
    expect<u8>(load<u8>(ip + 8)).toBe(64, 'TTL');
    expect<u8>(load<u8>(ip + 9)).toBe(17, 'protocol');
    expect<i32>(diffMem(ip + 12, ADDR + ADDR_SRC_IP, 4)).toBe(-1, 'source address');
    expect<i32>(diffMem(ip + 16, ADDR + ADDR_DST_IP, 4)).toBe(-1, 'destination address');
    expect<u32>(be16(udp)).toBe(0x1234, 'source port (big-endian on the wire)');
    expect<u32>(be16(udp + 2)).toBe(0xabcd, 'destination port');
    expect<u32>(be16(udp + 4)).toBe(108, 'UDP length');
  });

  it('IPv6 header fields: ethertype 0x86dd, 0x60000000, payload length, next header 17, hop limit 32', () => {
    setAddr(6, 0x1234, 0xabcd);
    fillRandom(payloadOf(6), 100, 7);
    const len = frameBuild(ADDR, FRAME, 100, 0x12345);
    const ip = ipOf();
    const udp = udpOf(6);
    expect<i32>(len).toBe(162);
    expect<u32>(be16(FRAME + 12)).toBe(0x86dd, 'ethertype');
    expect<u32>(be16(ip)).toBe(0x6000, 'first word, high half');
    expect<u32>(be16(ip + 2)).toBe(0, 'first word, low half');
    expect<u32>(be16(ip + 4)).toBe(108, 'payload length');
    expect<u8>(load<u8>(ip + 6)).toBe(17, 'next header');
    expect<u8>(load<u8>(ip + 7)).toBe(32, 'hop limit');
    expect<i32>(diffMem(ip + 8, ADDR + ADDR_SRC_IP, 16)).toBe(-1, 'source address');
    expect<i32>(diffMem(ip + 24, ADDR + ADDR_DST_IP, 16)).toBe(-1, 'destination address');
    expect<u32>(be16(udp)).toBe(0x1234, 'source port');
    expect<u32>(be16(udp + 2)).toBe(0xabcd, 'destination port');
    expect<u32>(be16(udp + 4)).toBe(108, 'UDP length');
  });

  for (let k = 0; k < FAMILIES.length; k++) {
    it('IPv' + FAMILIES[k].toString() + ': every payload length 0..1000: lengths, checksums verify, payload untouched', () => {
      const family = FAMILIES[famCursor++];
      let bad = -1;
      let what = 0;
      for (let n = 0; n <= 1000 && bad < 0; n++) {
        setAddr(family, <u16>(6665 + n), <u16>(60000 - n));
        fillRandom(payloadOf(family), n, <u32>(n + 1));
        memory.copy(WANT, payloadOf(family), <usize>n);
        const len = frameBuild(ADDR, FRAME, n, <u32>n);
        if (len != frameOverhead(family) + n) what = 1;
        else if (be16(udpOf(family) + 4) != <u32>(8 + n)) what = 2;
        else if (family == 4 && be16(ipOf() + 2) != <u32>(28 + n)) what = 3;
        else if (family == 4 && fold(naiveSum(ipOf(), 20)) != 0xffff) what = 4; // header checksum verifies
        else if (udpVerifySum(family, n) != 0xffff) what = 5; // UDP checksum verifies
        else if (be16(udpOf(family) + 6) == 0) what = 6; // never sent as 0
        else if (diffMem(payloadOf(family), WANT, n) >= 0) what = 7;
        if (what != 0) bad = n;
      }
      expect<i32>(what).toBe(0, '1 frame length, 2 UDP length, 3 IPv4 length, 4 IPv4 csum, 5 UDP csum, 6 zero csum, 7 payload');
      expect<i32>(bad).toBe(-1, 'first failing payload length');
    });
  }

  it('IPv4 header checksum over the built header sums to 0xffff (IDs 0, 1, 0xffff, 0x10000; TTL/lengths vary)', () => {
    setAddr(4, 1, 2);
    let bad = -1;
    const ids: u32[] = [0, 1, 0xffff, 0x10000, 0xdead];
    for (let i = 0; i < ids.length; i++) {
      frameBuild(ADDR, FRAME, 17 * i, ids[i]);
      if (fold(naiveSum(ipOf(), 20)) != 0xffff && bad < 0) bad = i;
    }
    expect<i32>(bad).toBe(-1, 'first failing ID index');
  });

  for (let k = 0; k < FAMILIES.length; k++) {
    it('IPv' + FAMILIES[k].toString() + ': a payload whose UDP checksum computes to 0 is sent as 0xffff (8 payloads)', () => {
      const family = FAMILIES[famCursor2++];
      let bad = -1;
      for (let seed = 1; seed <= 8; seed++) {
        const n = 10 * seed + 20; // even: the last two bytes are one big-endian word
        setAddr(family, <u16>(6000 + seed), 6666);
        const payload = payloadOf(family);
        fillRandom(payload, n - 2, <u32>seed);
        store<u16>(payload + <usize>(n - 2), 0);
        // Choose the last word so that the sum is 0xffff, i.e. the computed checksum ~sum is 0.
        const w = 0xffff - udpInputSum(family, payload, n);
        store<u8>(payload + <usize>(n - 2), <u8>(w >> 8));
        store<u8>(payload + <usize>(n - 1), <u8>w);
        const computed = ~udpInputSum(family, payload, n) & 0xffff;
        frameBuild(ADDR, FRAME, n, 1);
        if ((computed != 0 || be16(udpOf(family) + 6) != 0xffff || udpVerifySum(family, n) != 0xffff) && bad < 0) bad = seed;
      }
      expect<i32>(bad).toBe(-1, 'first failing seed');
    });
  }

  for (let k = 0; k < FAMILIES.length; k++) {
    it('IPv' + FAMILIES[k].toString() + ': odd payload lengths 1, 37, 999: UDP checksum equals the naive model', () => {
      const family = FAMILIES[famCursor3++];
      const lens: i32[] = [1, 37, 999];
      let bad = -1;
      for (let i = 0; i < lens.length; i++) {
        const n = lens[i];
        setAddr(family, 6665, 6666);
        fillRandom(payloadOf(family), n, <u32>(n * 3));
        const want = ~udpInputSum(family, payloadOf(family), n) & 0xffff;
        frameBuild(ADDR, FRAME, n, 1);
        if (be16(udpOf(family) + 6) != (want == 0 ? 0xffff : want) && bad < 0) bad = n;
      }
      expect<i32>(bad).toBe(-1, 'first failing length');
    });
  }
});

describe('index.frame_build', () => {
  it("builds from the thread's THR_ADDR into THR_OUT (IPv4 known answer, thread 0)", () => {
    setAddr(4, 6665, 6666);
    putStr(payloadOf(4), PAYLOAD);
    expect<i32>(frame_build(0, 38, 1)).toBe(80);
    putHex(WANT, FRAME_V4);
    expect<i32>(diffMem(FRAME, WANT, 80)).toBe(-1);
  });

  it('refuses a bad thread (64, -1) and a bad length (-1, more than 2048 with headers)', () => {
    setAddr(4, 6665, 6666);
    expect<i32>(frame_build(64, 38, 1)).toBe(E_BADTHREAD);
    expect<i32>(frame_build(-1, 38, 1)).toBe(E_BADTHREAD);
    expect<i32>(frame_build(0, -1, 1)).toBe(E_BADARG);
    expect<i32>(frame_build(0, 2048 - 42 + 1, 1)).toBe(E_BADARG);
    setAddr(6, 6665, 6666);
    expect<i32>(frame_build(0, 2048 - 62 + 1, 1)).toBe(E_BADARG);
    expect<i32>(frame_build(0, 2048 - 62, 1)).toBe(2048);
  });
});

describe('frame spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
