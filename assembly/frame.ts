// Ethernet + IPv4/IPv6 + UDP headers around a payload, as the kernel's netpoll builds them
// (netpoll_send_udp): docs/wire.md section 4. The payload is already in place after the headers.
import {
  ADDR_DST_IP,
  ADDR_DST_MAC,
  ADDR_DST_PORT,
  ADDR_FAMILY,
  ADDR_SRC_IP,
  ADDR_SRC_MAC,
  ADDR_SRC_PORT,
  ETH_HLEN,
  IPV4_HLEN,
  IPV6_HLEN,
  UDP_HLEN,
} from './layout';
import { csumAdd, csumSimd } from './checksum';

@inline function put16be(p: usize, v: u32): void {
  store<u8>(p, <u8>(v >> 8));
  store<u8>(p + 1, <u8>v);
}

@inline function put32be(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}

/** Bytes of headers in front of the payload for an address family (4 or 6). */
export function frameOverhead(family: i32): i32 {
  return ETH_HLEN + (family == 6 ? IPV6_HLEN : IPV4_HLEN) + UDP_HLEN;
}

/**
 * Writes the headers of a frame at `frame` for the addressing block at `addr`, whose payload of
 * `payloadLen` bytes is already at frame + frameOverhead(family). `ipId` is the IPv4
 * identification (ignored for IPv6). Returns the frame length.
 */
export function frameBuild(addr: usize, frame: usize, payloadLen: i32, ipId: u32): i32 {
  const v6 = load<u8>(addr + ADDR_FAMILY) == 6;
  const ipLen = v6 ? IPV6_HLEN : IPV4_HLEN;
  const ip = frame + <usize>ETH_HLEN;
  const udp = ip + <usize>ipLen;
  const udpLen = <u32>(UDP_HLEN + payloadLen);

  // Ethernet: destination, source, ethertype. No padding (netpoll sends short frames as they are).
  memory.copy(frame, addr + ADDR_DST_MAC, 6);
  memory.copy(frame + 6, addr + ADDR_SRC_MAC, 6);
  put16be(frame + 12, v6 ? 0x86dd : 0x0800);

  // UDP header, checksum zero while summing.
  put16be(udp, <u32>load<u16>(addr + ADDR_SRC_PORT));
  put16be(udp + 2, <u32>load<u16>(addr + ADDR_DST_PORT));
  put16be(udp + 4, udpLen);
  store<u16>(udp + 6, 0);

  // Pseudo-header (RFC 768 / RFC 8200 8.1): addresses, protocol, UDP length.
  const alen = v6 ? 16 : 4;
  let sum = csumSimd(addr + ADDR_SRC_IP, alen);
  sum = csumAdd(sum, csumSimd(addr + ADDR_DST_IP, alen));
  sum = csumAdd(sum, 17);
  sum = csumAdd(sum, udpLen);
  sum = csumAdd(sum, csumSimd(udp, <i32>udpLen));
  let check = ~sum & 0xffff;
  if (check == 0) check = 0xffff; // RFC 768: a computed zero is sent as all ones
  put16be(udp + 6, check);

  if (v6) {
    put32be(ip, 0x60000000); // version 6, traffic class 0, flow label 0
    put16be(ip + 4, udpLen); // payload length
    store<u8>(ip + 6, 17); // next header: UDP
    store<u8>(ip + 7, 32); // hop limit, as netpoll
    memory.copy(ip + 8, addr + ADDR_SRC_IP, 16);
    memory.copy(ip + 24, addr + ADDR_DST_IP, 16);
  } else {
    store<u8>(ip, 0x45); // version 4, IHL 5
    store<u8>(ip + 1, 0); // TOS
    put16be(ip + 2, <u32>IPV4_HLEN + udpLen);
    put16be(ip + 4, ipId & 0xffff);
    store<u16>(ip + 6, 0); // flags/fragment offset: DF not set, as netpoll
    store<u8>(ip + 8, 64); // TTL
    store<u8>(ip + 9, 17); // protocol: UDP
    store<u16>(ip + 10, 0);
    memory.copy(ip + 12, addr + ADDR_SRC_IP, 4);
    memory.copy(ip + 16, addr + ADDR_DST_IP, 4);
    put16be(ip + 10, ~csumSimd(ip, IPV4_HLEN) & 0xffff);
  }
  return ETH_HLEN + ipLen + <i32>udpLen;
}
