// Scenario: delivered datagrams per second on loopback, 100-byte and 1,000-byte payloads:
//   C sendmmsg  - a C sender compiled by this benchmark (batches of 64), the physical reference;
//   netconsole  - records logged from the main thread, datagrams sent by the native sender thread
//                 (UDP mode), and by the dgram fallback;
//   node dgram  - Node's own socket.send per datagram;
// each counted by a C receiver (recvmmsg) in its own process and given as a ratio to C sendmmsg.
// "Delivered" is what the receiver read; the kernel's RcvbufErrors are reported beside it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { once } from 'node:events';
import { Netconsole } from '../src/netconsole.js';
import { native } from '../src/native.js';

const OUT = new URL('../../bench/out/', import.meta.url).pathname;

export const C_SENDER = `// bench: sendmmsg sender, the reference. usage: sender port size count [ipv4]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
int main(int argc, char** argv) {
  int port = atoi(argv[1]), size = atoi(argv[2]); long count = atol(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sb = 4 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (argc > 4) inet_pton(AF_INET, argv[4], &a.sin_addr);
  static char buf[64][2048]; struct iovec iov[64]; struct mmsghdr m[64];
  for (int i = 0; i < 64; i++) { memset(buf[i], 'x', size); iov[i].iov_base = buf[i]; iov[i].iov_len = size;
    memset(&m[i], 0, sizeof m[i]); m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = &a; m[i].msg_hdr.msg_namelen = sizeof a; }
  struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
  long sent = 0;
  while (sent < count) { int n = count - sent < 64 ? count - sent : 64; int r = sendmmsg(fd, m, n, 0); if (r > 0) sent += r; }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%ld %.6f\\n", sent, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
`;

export const C_RECEIVER = `// bench: recvmmsg receiver. usage: receiver port [ipv4]; prints "ready <port>", then the count after 300 ms idle
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char** argv) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rb = 32 << 20; setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1])); a.sin_addr.s_addr = htonl(0x7f000001);
  if (argc > 2) inet_pton(AF_INET, argv[2], &a.sin_addr);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) { perror("bind"); return 1; }
  socklen_t l = sizeof a; getsockname(fd, (struct sockaddr*)&a, &l);
  printf("ready %d\\n", ntohs(a.sin_port)); fflush(stdout);
  static char buf[256][2048]; struct iovec iov[256]; struct mmsghdr m[256];
  for (int i = 0; i < 256; i++) { iov[i].iov_base = buf[i]; iov[i].iov_len = 2048; m[i].msg_hdr = (struct msghdr){0}; m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
  long count = 0; struct pollfd p = { fd, POLLIN, 0 }; int started = 0;
  for (;;) {
    int r = poll(&p, 1, started ? 300 : 30000);
    if (r <= 0) break;
    int n = recvmmsg(fd, m, 256, MSG_DONTWAIT, NULL);
    if (n > 0) { count += n; started = 1; }
  }
  printf("%ld\\n", count);
  return 0;
}
`;

export function compile(name: string, src: string): string {
  mkdirSync(OUT, { recursive: true });
  const c = `${OUT}${name}.c`;
  const bin = `${OUT}${name}`;
  if (!existsSync(bin) || readFileSync(c, 'utf8') !== src) {
    writeFileSync(c, src);
    execFileSync('cc', ['-O2', '-o', bin, c]);
  }
  return bin;
}

function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

interface Result {
  name: string;
  size: number;
  sent: number;
  delivered: number;
  seconds: number;
  lost: number;
}

async function withReceiver(bin: string, run: (port: number) => Promise<{ sent: number; seconds: number }>): Promise<{ sent: number; delivered: number; seconds: number; lost: number }> {
  const rx: ChildProcess = spawn(bin, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  rx.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  while (!/ready (\d+)/.test(out)) await new Promise((r) => setTimeout(r, 5));
  const port = Number(/ready (\d+)/.exec(out)![1]);
  const lost0 = udpRcvbufErrors();
  const r = await run(port);
  await once(rx, 'exit');
  const delivered = Number(out.trim().split('\n').pop());
  return { ...r, delivered, lost: udpRcvbufErrors() - lost0 };
}

async function netconsoleSend(port: number, size: number, count: number, sender: 'native' | 'dgram'): Promise<{ sent: number; seconds: number }> {
  const nc = await Netconsole.create({
    devices: 'none',
    env: false,
    sender,
    ringSize: 256 << 20,
    targets: [{ name: 'b', remote_ip: '127.0.0.1', remote_port: port, local_port: 0, timestamps: 0, enabled: 1 }],
  });
  const text = 'x'.repeat(size - 1); // basic target without timestamps: the text and "\n"
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    nc.info(text);
    if ((i & 4095) === 4095) await new Promise((r) => setImmediate(r)); // the dgram sender shares this loop
  }
  await nc.flush();
  const seconds = (performance.now() - t0) / 1000;
  const s = nc.stats().targets[0];
  await nc.close();
  return { sent: s.datagrams, seconds };
}

async function dgramSend(port: number, size: number, count: number): Promise<{ sent: number; seconds: number }> {
  const s = createSocket('udp4');
  const buf = Buffer.alloc(size, 'x');
  const t0 = performance.now();
  let done = 0;
  await new Promise<void>((resolve) => {
    let inflight = 0;
    let i = 0;
    const pump = (): void => {
      while (i < count && inflight < 1024) {
        i++;
        inflight++;
        s.send(buf, port, '127.0.0.1', () => {
          inflight--;
          if (++done === count) resolve();
          else if (inflight < 512) pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  s.close();
  return { sent: count, seconds };
}

export async function run(): Promise<{ report: string }> {
  const sender = compile('sendmmsg-sender', C_SENDER);
  const receiver = compile('recvmmsg-receiver', C_RECEIVER);
  const results: Result[] = [];
  for (const size of [100, 1000]) {
    const count = size === 100 ? 1_000_000 : 200_000; // the backlog fits the 256 MiB ring: nothing dropped
    const c = await withReceiver(receiver, async (port) => {
      const [sent, seconds] = execFileSync(sender, [String(port), String(size), String(count)], { encoding: 'utf8' }).trim().split(' ').map(Number);
      return { sent, seconds };
    });
    results.push({ name: 'C sendmmsg', size, ...c });
    if (native) results.push({ name: 'netconsole, native sender', size, ...(await withReceiver(receiver, (p) => netconsoleSend(p, size, count, 'native'))) });
    const small = Math.min(count, 200_000);
    results.push({ name: 'netconsole, dgram sender', size, ...(await withReceiver(receiver, (p) => netconsoleSend(p, size, small, 'dgram'))) });
    results.push({ name: 'node dgram send', size, ...(await withReceiver(receiver, (p) => dgramSend(p, size, small))) });
  }
  const lines = ['## UDP throughput on loopback: delivered datagrams/s (C receiver, recvmmsg)', '', '| sender | payload | sent | delivered | delivered/s | ratio to C | kernel drops |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of results) {
    const c = results.find((x) => x.size === r.size && x.name === 'C sendmmsg')!;
    const rate = r.delivered / r.seconds;
    lines.push(`| ${r.name} | ${r.size} B | ${r.sent} | ${r.delivered} | ${(rate / 1e6).toFixed(3)} M | ${(rate / (c.delivered / c.seconds)).toFixed(2)}x | ${r.lost} |`);
  }
  if (!native) lines.push('', 'native sender: not measured (the addon is not loaded).');
  lines.push('', 'Raw mode is measured by raw-throughput, over a veth pair: AF_PACKET frames into lo are dropped as martians.');
  return { report: lines.join('\n') };
}
