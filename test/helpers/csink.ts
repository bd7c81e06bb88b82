// A UDP receiver in C, in its own process, for tests that must not lose a datagram to their own
// receiver: a 64 MiB receive buffer (SO_RCVBUFFORCE, as root; else what SO_RCVBUF allows), a
// recvmmsg loop that never blocks the sender, every datagram recorded to a file. Its socket's own
// drop count (/proc/net/udp) is read at the end, so a loss at the receiver is never blamed on the
// sender, nor hidden by it.
//
//   const sink = await CSink.open({ idleMs: 500 });      // or { ns: 'b', address: '10.9.0.2' } with a NetnsHandle
//   ... send to sink.port ...
//   const { datagrams, drops } = await sink.done(); // after idleMs without a datagram (or stop())
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetnsHandle } from '../../harness/netns.js';

const SOURCE = `// csink: address port outfile idle_ms. Prints "ready <port>", records [u32 len][bytes] per
// datagram, exits after idle_ms without one (once one came) or on SIGTERM, printing the count.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static volatile sig_atomic_t stop = 0;
static void on_term(int s) { (void)s; stop = 1; }
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000L; }
int main(int argc, char** argv) {
  const char* addr = argv[1]; int port = atoi(argv[2]); FILE* out = fopen(argv[3], "wb"); long idle = atol(argv[4]);
  if (!out) { perror("fopen"); return 1; }
  signal(SIGTERM, on_term);
  int v6 = strchr(addr, ':') != NULL;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  int rb = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_storage ss; memset(&ss, 0, sizeof ss); socklen_t sl;
  if (v6) { struct sockaddr_in6* a = (struct sockaddr_in6*)&ss; a->sin6_family = AF_INET6; a->sin6_port = htons(port); inet_pton(AF_INET6, addr, &a->sin6_addr); sl = sizeof *a; }
  else { struct sockaddr_in* a = (struct sockaddr_in*)&ss; a->sin_family = AF_INET; a->sin_port = htons(port); inet_pton(AF_INET, addr, &a->sin_addr); sl = sizeof *a; }
  if (bind(fd, (struct sockaddr*)&ss, sl) < 0) { perror("bind"); return 1; }
  getsockname(fd, (struct sockaddr*)&ss, &sl);
  printf("ready %d\\n", ntohs(v6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port)); fflush(stdout);
  static char buf[256][2048]; struct iovec iov[256]; struct mmsghdr m[256];
  for (int i = 0; i < 256; i++) { iov[i].iov_base = buf[i]; iov[i].iov_len = sizeof buf[i]; memset(&m[i], 0, sizeof m[i]); m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
  long count = 0, last = 0; struct pollfd p = { fd, POLLIN, 0 };
  for (;;) {
    int n = recvmmsg(fd, m, 256, MSG_DONTWAIT, NULL);
    if (n > 0) {
      for (int i = 0; i < n; i++) { uint32_t len = m[i].msg_len; fwrite(&len, 4, 1, out); fwrite(buf[i], 1, len, out); }
      count += n; last = now_ms(); continue;
    }
    if (stop || (count > 0 && now_ms() - last >= idle)) break;
    poll(&p, 1, 50);
  }
  fclose(out);
  // This socket's own drops (the last column of /proc/net/udp{,6}): exact, whatever else runs.
  long drops = -1; char line[512]; unsigned lport = ntohs(v6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port);
  FILE* f = fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "r");
  while (f && fgets(line, sizeof line, f)) {
    char local[64]; unsigned port; long d;
    if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %*x %*s %*s %*s %*s %*s %*s %*s %*s %ld", local, &port, &d) == 3 && port == lport) drops = d;
  }
  if (f) fclose(f);
  printf("%ld %ld\\n", count, drops); fflush(stdout);
  return 0;
}
`;

let binary: string | null = null;

/** Compiles the receiver once per source version (cached in the temp directory). */
function compile(): string {
  if (binary) return binary;
  const dir = join(tmpdir(), `netconsole-csink-${createHash('sha256').update(SOURCE).digest('hex').slice(0, 12)}`);
  const bin = join(dir, 'csink');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'csink.c'), SOURCE);
    execFileSync('cc', ['-O2', '-o', `${bin}.tmp`, join(dir, 'csink.c')]);
    execFileSync('mv', [`${bin}.tmp`, bin]);
  }
  return (binary = bin);
}

/** Udp RcvbufErrors of a namespace (or this one). */
function rcvbufErrors(ns?: { handle: NetnsHandle; name: string }): number {
  const text = ns
    ? execFileSync('ip', ['netns', 'exec', ns.handle.name(ns.name), 'cat', '/proc/net/snmp'], { encoding: 'utf8' })
    : readFileSync('/proc/net/snmp', 'utf8');
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

export interface CSinkOptions {
  address?: string;
  port?: number;
  /** Stop this long after the last datagram (once one came). Default 1000 ms. */
  idleMs?: number;
  /** Run inside a network namespace of a NetnsHandle. */
  ns?: { handle: NetnsHandle; name: string };
}

export interface CSinkResult {
  datagrams: Buffer[];
  /** Datagrams the receiver's socket dropped (its queue was full): 0 unless the receiver lost some. */
  drops: number;
  /** RcvbufErrors of the receiver's namespace that moved while it ran (other sockets' too). */
  rcvbufErrors: number;
}

export class CSink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
    private readonly output: Promise<string>,
    private readonly errorsBefore: number,
    private readonly ns?: CSinkOptions['ns'],
  ) {}

  static async open(opts: CSinkOptions = {}): Promise<CSink> {
    const bin = compile();
    const dir = mkdtempSync(join(tmpdir(), 'netconsole-csink-run-'));
    const args = [opts.address ?? '127.0.0.1', String(opts.port ?? 0), join(dir, 'out'), String(opts.idleMs ?? 1000)];
    const errorsBefore = rcvbufErrors(opts.ns);
    // In a namespace, withNetns kills it before the namespace goes; anywhere, it dies with this
    // process: a test that fails before done() must not leave a receiver waiting for datagrams.
    const child = opts.ns ? opts.ns.handle.spawn(opts.ns.name, bin, args) : spawn(bin, args);
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    let text = '';
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    const output = new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`csink exited ${code}: ${text}`)))); // 'close': after its output
    });
    const port = await new Promise<number>((resolve, reject) => {
      const check = (): void => {
        const m = /ready (\d+)/.exec(text);
        if (m) {
          child.stdout!.off('data', check);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', check);
      output.catch(reject);
    });
    return new CSink(child, port, dir, output, errorsBefore, opts.ns);
  }

  /** The receiver's process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Ends it now (SIGTERM) instead of waiting for idleMs. */
  stop(): void {
    this.child.kill('SIGTERM');
  }

  /**
   * Waits until it stopped; every datagram it got, in order of arrival. With `each`, the datagrams
   * are handed to it one by one instead and not kept (`datagrams` is empty): for millions of them.
   */
  async done(each?: (datagram: Buffer) => void): Promise<CSinkResult> {
    try {
      const text = await this.output;
      const last = /(\d+) (-?\d+)\s*$/.exec(text);
      const drops = last ? Number(last[2]) : -1;
      if (drops < 0) throw new Error(`csink: its socket's drop count is unknown: ${text}`);
      const raw = readFileSync(join(this.dir, 'out'));
      const datagrams: Buffer[] = [];
      for (let o = 0; o + 4 <= raw.length;) {
        const len = raw.readUInt32LE(o);
        if (each) each(raw.subarray(o + 4, o + 4 + len));
        else datagrams.push(raw.subarray(o + 4, o + 4 + len));
        o += 4 + len;
      }
      return { datagrams, drops, rcvbufErrors: rcvbufErrors(this.ns) - this.errorsBefore };
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
