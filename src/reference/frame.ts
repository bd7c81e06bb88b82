// The reference raw frame of docs/wire.md section 4: Ethernet + IPv4/IPv6 + UDP around one payload,
// as the kernel's netpoll (netpoll_send_udp) builds it. Each header is written field by field,
// in wire order, so the code can be checked against the RFC diagrams.
import { TooLargeError, invalid, outOfRange } from '../base/errors.js';
import { internetChecksum, onesComplementSum } from './checksum.js';

export interface FrameAddresses {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  family: 4 | 6;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  srcPort: number;
  dstPort: number;
  /** IPv4 identification; the low 16 bits are used. Ignored for IPv6. */
  ipId: number;
}

const ETH_HLEN = 14;
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
const UDP_HLEN = 8;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_UDP = 17;
/** netpoll: iph->ttl = 64 */
const IPV4_TTL = 64;
/** netpoll: ip6h->hop_limit = 32 */
const IPV6_HOP_LIMIT = 32;
/** Largest value of a 16-bit length field (IPv4 total length, IPv6 payload length, UDP length). */
const MAX_LEN16 = 0xffff;

function checkBytes(option: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw invalid(option, bytes, `${length} bytes`);
}

/** DataView.setUint16 would silently wrap an out-of-range port. */
function checkPort(option: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw outOfRange(option, port, '0..65535');
}

/** RFC 768 pseudo-header: src, dst, zero, protocol, UDP length. */
function ipv4PseudoHeader(a: FrameAddresses, udpLen: number): Uint8Array {
  const p = new Uint8Array(12);
  const v = new DataView(p.buffer);
  p.set(a.srcIp, 0);
  p.set(a.dstIp, 4);
  v.setUint8(9, IPPROTO_UDP);
  v.setUint16(10, udpLen);
  return p;
}

/** RFC 8200 section 8.1 pseudo-header: src, dst, 32-bit upper-layer length, 3 zero bytes, next header. */
function ipv6PseudoHeader(a: FrameAddresses, udpLen: number): Uint8Array {
  const p = new Uint8Array(40);
  const v = new DataView(p.buffer);
  p.set(a.srcIp, 0);
  p.set(a.dstIp, 16);
  v.setUint32(32, udpLen);
  v.setUint8(39, IPPROTO_UDP);
  return p;
}

export function referenceFrame(payload: Uint8Array, a: FrameAddresses): Uint8Array {
  const ipLen = a.family === 4 ? 4 : 16;
  checkBytes('srcMac', a.srcMac, 6);
  checkBytes('dstMac', a.dstMac, 6);
  checkBytes('srcIp', a.srcIp, ipLen);
  checkBytes('dstIp', a.dstIp, ipLen);
  checkPort('srcPort', a.srcPort);
  checkPort('dstPort', a.dstPort);
  const ipHlen = a.family === 4 ? IPV4_HLEN : IPV6_HLEN;
  const udpLen = UDP_HLEN + payload.length;
  // IPv4 counts its own header in the 16-bit total length; IPv6's payload length does not.
  const limit = a.family === 4 ? MAX_LEN16 - IPV4_HLEN - UDP_HLEN : MAX_LEN16 - UDP_HLEN;
  if (payload.length > limit) throw new TooLargeError('payload', payload.length, limit);

  const frame = new Uint8Array(ETH_HLEN + ipHlen + udpLen);
  const v = new DataView(frame.buffer);

  // Ethernet II: destination, source, ethertype. No padding to 60 bytes (the NIC pads).
  frame.set(a.dstMac, 0);
  frame.set(a.srcMac, 6);
  v.setUint16(12, a.family === 4 ? ETH_P_IP : ETH_P_IPV6);

  const ip = ETH_HLEN;
  if (a.family === 4) {
    v.setUint8(ip + 0, 0x45); // version 4, IHL 5 words
    v.setUint8(ip + 1, 0); // TOS
    v.setUint16(ip + 2, IPV4_HLEN + udpLen); // total length
    v.setUint16(ip + 4, a.ipId & 0xffff); // identification
    v.setUint16(ip + 6, 0); // flags/fragment offset: DF not set, as netpoll
    v.setUint8(ip + 8, IPV4_TTL);
    v.setUint8(ip + 9, IPPROTO_UDP);
    frame.set(a.srcIp, ip + 12);
    frame.set(a.dstIp, ip + 16);
    // Header checksum last, over the header with its checksum field still 0.
    v.setUint16(ip + 10, internetChecksum(frame.subarray(ip, ip + IPV4_HLEN)));
  } else {
    v.setUint32(ip + 0, 0x60000000); // version 6, traffic class 0, flow label 0
    v.setUint16(ip + 4, udpLen); // payload length
    v.setUint8(ip + 6, IPPROTO_UDP); // next header
    v.setUint8(ip + 7, IPV6_HOP_LIMIT);
    frame.set(a.srcIp, ip + 8);
    frame.set(a.dstIp, ip + 24);
  }

  const udp = ip + ipHlen;
  v.setUint16(udp + 0, a.srcPort);
  v.setUint16(udp + 2, a.dstPort);
  v.setUint16(udp + 4, udpLen);
  frame.set(payload, udp + UDP_HLEN);
  // Checksum field still 0 here, so summing the UDP header and payload as they stand is right.
  const pseudo = a.family === 4 ? ipv4PseudoHeader(a, udpLen) : ipv6PseudoHeader(a, udpLen);
  const sum = internetChecksum(frame.subarray(udp), onesComplementSum(pseudo));
  // RFC 768: a computed 0 is sent as all ones (0 means "no checksum" for IPv4, and is illegal for IPv6).
  v.setUint16(udp + 6, sum === 0 ? 0xffff : sum);
  return frame;
}
