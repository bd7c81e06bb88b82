// The public logger. One Netconsole owns one shared memory (the write path's ring, targets and
// thread slots), the host side (configuration, device events, sockets, deferred cleanup) and a
// sender. Logging is synchronous, and waits (bounded) only for room in a full ring (overflow
// 'wait'); everything else that may wait is async.
import { EventEmitter } from 'node:events';
import { addConfigured } from './configured.js';
import { ControlServer } from './control.js';
import { NetconsoleError } from '../base/errors.js';
import { codeCacheWarm } from '../base/code-cache.js';
import { HostLocks } from './locks.js';
import { native, nativeDisabled, nativeWhy } from '../core/native.js';
import * as sysfs from '../netdev/sysfs.js';
import { SysfsPoller } from '../netdev/poller.js';
import { RtnetlinkSource } from '../netdev/rtnetlink.js';
import { neighbors, rtnetlinkAvailable, rtnetlinkLookup } from '../netdev/rtnetlink-dump.js';
import type { NetdevEvent } from '../netdev/types.js';
import type { NetconsoleOptions } from './options.js';
import { resolveOptions, type ResolvedOptions } from './resolve.js';
import { ExitDrain } from './exit-drain.js';
import { futexWaiter, setRoomMaker } from '../core/room.js';
import { DgramSender } from '../sender/dgram.js';
import { NeighbourTable } from '../netdev/neighbours.js';
import { NativeSender } from '../sender/native.js';
import type { Sender } from '../sender/types.js';
import { SocketPool } from '../sender/sockets.js';
import { Logger, type NetconsoleHandle } from './logger.js';
import type { NetconsoleEvents, Stats } from './reports.js';
import { collectStats } from './stats.js';
import { Targets } from './target-api.js';
import { TargetTable } from './target-table.js';
import { Core } from '../core/wasm.js';
import { warnNoAddon } from './warnings.js';
import { levelNumber, toText, Writer, type Level, type Overflow, type WriterOptions } from '../core/writer.js';

export type { NativeSenderOptions, NetconsoleOptions } from './options.js';
export {
  attach,
  ChildLogger,
  Logger,
  WorkerLogger,
  type ChildOptions,
  type LevelMethodName,
  type LogMethod,
  type NetconsoleHandle,
} from './logger.js';
export type { LossEvent, NetconsoleEvents, Stats, TargetEvent, TargetStats } from './reports.js';
export { Targets } from './target-api.js';

/** A thrown value as text, whatever it is: a crash record must not throw itself. */
function printable(value: unknown): string {
  try {
    const text = toText(value);
    return typeof text === 'string' ? text : `<${text.length} bytes>`;
  } catch {
    return '(a value that cannot be printed)';
  }
}

/**
 * The logger: `Netconsole.create(options)`. Its level methods (emerg alert crit err/error
 * warning/warn notice info debug, and pino's fatal and trace), log(level, ...args), write(level,
 * value, opts), level, isLevelEnabled() and child() are Logger's; a log call is synchronous and
 * never throws by default (Logger).
 */
export class Netconsole extends Logger {
  /** 'target' (a target's state changed), 'loss' (a target lost messages: at most once a second),
   *  'error' (a failure in the background; without a listener it becomes a process warning). */
  readonly events = new EventEmitter<NetconsoleEvents>();
  /** Problems met while bringing up the configured targets (non-strict mode). */
  readonly startupErrors: NetconsoleError[] = [];
  readonly targets: Targets;
  private readonly table: TargetTable;
  private readonly poller: SysfsPoller | RtnetlinkSource | null;
  private closing: Promise<void> | null = null;
  private controlServer: ControlServer | null = null;
  private readonly reaper: NodeJS.Timeout;
  private readonly lossSeen: number[] = [];
  /** What is logged goes out before the process exits, or a signal ends it (exit-drain.ts). */
  private readonly exitDrain: ExitDrain;
  private readonly exitDrainMs: number;
  private readonly ackWaitMs: number;
  private readonly throwOnLogError: boolean;

  private constructor(
    private readonly core: Core,
    private readonly locks: HostLocks,
    private readonly sockets: SocketPool,
    private readonly sender: Sender,
    private readonly facility: number,
    private readonly writerOptions: WriterOptions & { overflow: Overflow; overflowWaitMs: number },
    opts: ResolvedOptions,
  ) {
    super(new Writer(core, writerOptions), { level: opts.level, throwOnLogError: opts.throwOnLogError });
    this.throwOnLogError = opts.throwOnLogError;
    this.poller =
      opts.devices === 'none'
        ? null
        : opts.devices === 'rtnetlink'
          ? new RtnetlinkSource()
          : new SysfsPoller({ intervalMs: opts.pollIntervalMs });
    let lookup = opts.lookup ?? (opts.devices !== 'poll' && rtnetlinkAvailable() ? rtnetlinkLookup : sysfs);
    // The poller learns of the devices targets are set up on, also those it has not polled yet.
    if (lookup === sysfs && this.poller instanceof SysfsPoller) lookup = this.poller.observing(sysfs);
    this.table = new TargetTable(core, locks, sockets, sender, lookup, opts.mode, this.writer);
    this.table.on('target', (e) => this.events.emit('target', e));
    this.targets = new Targets(this.table);
    this.poller?.on('event', (ev: NetdevEvent) => {
      this.deviceEvent(ev).catch((err: unknown) => this.report(err));
    });
    this.poller?.on('error', (err: unknown) => this.report(err));
    // rtnetlink only: neighbour changes, which raw targets with remote_mac 'auto' follow, and
    // which tell the dgram sender whether a next hop is resolved (the native one watches them itself).
    const neighbours =
      sender instanceof DgramSender
        ? new NeighbourTable(this.poller instanceof RtnetlinkSource ? neighbors : null)
        : null;
    if (neighbours !== null) (sender as DgramSender).watchNeighbours(neighbours);
    if (this.poller instanceof RtnetlinkSource) {
      this.poller.on('neighbor', (n: Parameters<TargetTable['neighborChanged']>[0]) => {
        neighbours?.apply(n);
        this.table.neighborChanged(n).catch((err: unknown) => this.report(err));
      });
      this.poller.on('overrun', () => neighbours?.reset());
    }
    if (opts.oopsOnly) this.mute();
    // Thread slots of workers that died without detaching (their lock is recovered too), and
    // 'loss' events for targets that lost messages.
    this.reaper = setInterval(() => {
      this.core.reapDeadThreads();
      this.reportLosses();
    }, 1000).unref();
    this.exitDrainMs = opts.exitDrainMs;
    this.ackWaitMs = opts.ackWaitMs;
    this.exitDrain = new ExitDrain(core, sender, opts.exitDrainMs, opts.signals);
  }

  /**
   * A logger with the targets of `opts` (or of the NETCONSOLE variable). Configuration that does
   * not work is said as a process warning (warnings.ts): a target that did not come up (also in
   * `startupErrors`), no target at all, the native addon not loaded. With `strict`, a target that
   * does not come up rejects instead.
   */
  static create(opts: NetconsoleOptions = {}): Promise<Netconsole> {
    return Netconsole.make(opts, undefined);
  }

  /** create(); `origin` names the options in warnings when an integration made them ("the pino transport's options"). */
  private static async make(opts: NetconsoleOptions, origin: string | undefined): Promise<Netconsole> {
    const o = await resolveOptions(opts); // every option checked: nothing exists yet
    // NETCONSOLE_NO_NATIVE=1 or sender 'dgram' asked for the fallback: nothing to say then.
    const why = nativeWhy();
    if (why !== null && !nativeDisabled && o.senderAsked !== 'dgram') warnNoAddon(why, o);
    const core = Core.create({
      ringSize: o.ringSize,
      maxTotal: o.maxTotal,
      seqStart: o.seqStart,
      debug: o.debug,
      reportLosses: o.reportLosses,
    });
    // From the memory on, whatever throws closes everything started before it (the sender's
    // thread, sockets, the device source, timers, process listeners): a rejected create() leaves
    // nothing behind. Before the Netconsole exists by hand, after it by its close().
    let sender: Sender | null = null;
    let pool: SocketPool | null = null;
    let nc: Netconsole | null = null;
    try {
      const dgram = o.sender === 'dgram' ? new DgramSender(core, o.holdMs) : null;
      sender = dgram ?? new NativeSender(core, native!, o.nativeTuning);
      sender.start();
      pool = new SocketPool(o.sender === 'native' ? native : null, o.sendBufferBytes);
      // The host thread waits for the native sender's thread, or, with the dgram sender (on this
      // very thread's loop), sends from the ring itself (room.ts).
      const room = dgram ?? futexWaiter(native!);
      if (dgram) setRoomMaker(core.memory, dgram); // for loggers attached on this thread
      const { facility, overflow, overflowWaitMs } = o;
      const made = new Netconsole(
        core,
        new HostLocks(),
        pool,
        sender,
        facility,
        { facility, overflow, overflowWaitMs, room },
        o,
      );
      nc = made;
      // Not in the constructor: its first listing of the devices may fail, and close() stops it.
      made.poller?.start();
      await addConfigured(made.table, o, origin, made.startupErrors);
      if (o.control !== undefined)
        made.controlServer = await ControlServer.listen(o.control, made.targets, (err) => made.report(err));
      codeCacheWarm(); // the package's loader: the set-up's code has run, its cache can hold it
      return made;
    } catch (err) {
      if (nc !== null) {
        await nc.close();
      } else {
        await sender?.close();
        await pool?.closeAll();
        setRoomMaker(core.memory, null);
        core.retire();
      }
      throw err;
    }
  }

  /**
   * A failure in the background (a device event, the device source): to `nc.events` 'error'
   * listeners, else a process warning. Never thrown: a logger must not crash its application.
   */
  private report(err: unknown): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    else
      process.emitWarning(`netconsole: ${err instanceof Error ? err.message : String(err)}`, {
        code: 'NETCONSOLE_BACKGROUND',
      });
  }

  /** The one entry point for device events (docs/targets.md 4): from the poller, rtnetlink, or injected. */
  deviceEvent(ev: NetdevEvent): Promise<void> {
    return this.table.deviceEvent(ev);
  }

  /** For worker_threads: `attach(nc.handle())` in the worker logs through the same memory. The
   *  worker's logger starts at this Netconsole's level as it is now, and follows its throwOnLogError. */
  handle(): NetconsoleHandle {
    const { overflow, overflowWaitMs } = this.writerOptions;
    const level = levelNumber(this.level);
    return {
      core: this.core.handle(),
      facility: this.facility,
      overflow,
      overflowWaitMs,
      sender: this.sender.name,
      level,
      throwOnLogError: this.throwOnLogError,
    };
  }

  /**
   * Resolves when everything logged so far (by any thread) has been handed to the kernel, or
   * given up and counted: a target whose path is held keeps it waiting up to `holdMs`.
   */
  flush(): Promise<void> {
    return this.sender.waitPast(this.core.ring.head());
  }

  stats(): Stats {
    return collectStats(this.core, this.table.list(), this.sender, this.locks);
  }

  /**
   * A crash record: `err` (with its stack) at `level` (default emerg), sent even with oopsOnly,
   * then the sender drained synchronously (native sender; at most `timeoutMs`): for code that is
   * about to die. Returns whether everything was handed to the kernel.
   */
  oops(err: unknown, level: Level = 'emerg', timeoutMs = this.exitDrainMs): boolean {
    let n: number;
    try {
      n = levelNumber(level);
    } catch (e) {
      if (this.throwOnLogError) throw e;
      n = 0; // a crash record is not lost for a bad level
    }
    try {
      this.writer.write(n, err instanceof Error ? err : `Uncaught ${printable(err)}`);
    } catch {
      this.writer.write(n, `Uncaught ${printable(err)}`); // an Error whose stack cannot be read
    }
    return this.drainSync(timeoutMs);
  }

  /** Hands everything logged to the kernel before it returns (at most `timeoutMs`); returns whether it all went. */
  drainSync(timeoutMs = this.exitDrainMs): boolean {
    return this.sender.drainSync(timeoutMs);
  }

  /** 'loss' events: targets that lost messages since the last look (at most once a second). */
  private reportLosses(): void {
    if (this.events.listenerCount('loss') === 0) return;
    for (const t of this.stats().targets) {
      const idx = this.table.get(t.name)?.index ?? -1;
      const seen = this.lossSeen[idx] ?? 0;
      if (t.lost > seen) this.events.emit('loss', { name: t.name, lost: t.lost - seen, total: t.lost });
      this.lossSeen[idx] = t.lost;
    }
  }

  /**
   * Sends uncaught exceptions (emerg) and unhandled rejections (crit) with their stacks before
   * the process dies, through the 'uncaughtExceptionMonitor' hook: Node's own handling (the
   * message on stderr, the exit code) is unchanged. Returns a function that stops capturing.
   */
  captureCrashes(): () => void {
    const monitor = (err: Error, origin: string): void => {
      this.oops(err, origin === 'unhandledRejection' ? 'crit' : 'emerg');
    };
    process.on('uncaughtExceptionMonitor', monitor);
    return () => process.off('uncaughtExceptionMonitor', monitor);
  }

  /** Frees the thread slot (and recovers the lock) of a worker that exited, at once. */
  watchWorker(worker: import('node:worker_threads').Worker): void {
    worker.once('exit', () => this.core.reapDeadThreads());
  }

  /**
   * Log calls (on every thread) send nothing from now on; configuration operations already
   * started finish, later ones reject (ESHUTDOWN); every target is disabled (what was logged
   * before goes out first; a reliable target's receiver first gets up to `ackWaitMs` to ack it);
   * then the sender, sockets, device source and the host's thread slot are released. Every call
   * returns the same promise.
   */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.core.markClosed();
    if (this.ackWaitMs > 0 && this.table.list().some((t) => t.link !== null)) {
      // Reliable targets: what was logged goes out, then their receivers get up to ackWaitMs to
      // ack it (the last messages' emergency resends come now, not 3 s later).
      await this.flush();
      await this.table.settleReliable(this.ackWaitMs);
    }
    const targetsClosed = this.table.close(); // from here on configuration rejects
    this.poller?.stop();
    clearInterval(this.reaper);
    await this.controlServer?.close();
    await targetsClosed;
    await this.sender.close();
    this.exitDrain.stop();
    await this.sockets.closeAll();
    setRoomMaker(this.core.memory, null);
    this.core.retire();
  }
}

/**
 * Netconsole.create() for the integrations (not exported by the package): `origin` names their
 * options in warnings, e.g. "the pino transport's options" (then "... options.targets").
 */
export function createFrom(origin: string, opts: NetconsoleOptions): Promise<Netconsole> {
  return Netconsole['make'](opts, origin);
}
