// Death by a signal: what was logged before SIGTERM, SIGINT or SIGHUP still goes out. Node runs no
// 'exit' listeners when a signal's default action ends the process, and signals are how services
// are stopped, so while a Netconsole is open on the main thread one listener per signal (shared by
// every Netconsole of the process) does what the default action cannot:
//
// * If the process has another listener for the signal (the application's own), it does nothing:
//   that listener decides. If it calls process.exit(), the exit drain runs ('exit' listener); if it
//   shuts down gracefully, the senders keep sending meanwhile. Listeners are counted at the signal,
//   so one added after Netconsole.create(), or removed later, is seen as it is then.
// * Else every Netconsole that wants this signal hands what is logged to the kernel: all senders
//   are woken first, then each is waited for in turn, each at most its exitDrainMs counted from
//   the signal (so the whole drain takes at most the largest bound). The dgram sender sends
//   synchronously; what a full socket buffer refused waits in libuv's queue, which only the event
//   loop sends, so then the loop turns (within the same bound) before the end. What could not be
//   handed to the kernel is said on stderr, as at process.exit().
// * Then the listener removes itself and sends the signal again (process.kill), and the process
//   ends as it would have without this library: its parent sees the signal (a shell sees SIGINT
//   and stops its script, a supervisor sees SIGTERM). With no listener left, libuv leaves SIG_DFL,
//   but Node's own handler of SIGINT and SIGTERM did more before dying of the signal: it restored
//   the terminal modes and the stdio descriptors' O_NONBLOCK flags of startup (a pipe left
//   non-blocking breaks the next program that shares it). So the disposition found when the hook
//   installed its listener (with no other listener: Node's own) is saved and put back before the
//   re-raise, and when the hook removes its listener at close() (native addon: native/signals.cc;
//   without it the re-raise meets SIG_DFL). A second signal while the loop turns for the dgram
//   sender ends the wait at once.
//
// Listeners that, like this one, act only when they are alone would each wait for the other and
// the signal would be ignored: this hook's listener is marked (another copy of this library
// counts it as its own), and signal-exit's listeners (v3 and v4, which publish how many of them
// are loaded) are not counted as the application's. Signals reach only the main thread: a
// Netconsole created in a worker installs nothing (workers that attach() to one created on the
// main thread write into its ring, which is drained).
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { native } from '../core/native.js';

export const DRAIN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type DrainSignal = (typeof DRAIN_SIGNALS)[number];

/** What the hook needs of one Netconsole. */
export interface SignalDrain {
  readonly signals: ReadonlySet<DrainSignal>;
  /** The longest its drain may take, counted from the signal (ms). */
  readonly boundMs: number;
  /** Wakes its sender, so that every sender works while the hook waits for each in turn. */
  kick(): void;
  /** Hands what is logged to the kernel, synchronously, for at most `ms`. */
  drainSync(ms: number): void;
  /** Bytes handed to sockets that only the event loop can still send (the dgram sender's queues). */
  queued(): number;
  /** Says on stderr what could not be handed to the kernel (nothing when all went); `end` is how the process ends. */
  reportLeft(end: string): void;
}

/** Marks this hook's listeners, for any copy of this library loaded in the same process. */
const MARK = Symbol.for('netconsole: drains before a signal ends the process');
/** How often the event loop is asked whether the dgram sender's queues are empty, while it turns. */
const QUEUE_POLL_MS = 1;

const drains = new Set<SignalDrain>();
const installed = new Map<DrainSignal, () => void>();
/** The disposition each signal had before this hook's listener replaced it, when no listener had it. */
const saved = new Map<DrainSignal, Buffer>();
let ending: { sig: DrainSignal; timer: NodeJS.Timeout; mine: SignalDrain[] } | null = null;

/** Drains `d` at SIGTERM, SIGINT and SIGHUP (those of d.signals) when nothing else listens. */
export function drainOnSignals(d: SignalDrain): void {
  if (!isMainThread || d.signals.size === 0) return;
  drains.add(d);
  sync();
}

/** No longer (close()). */
export function stopDrainOnSignals(d: SignalDrain): void {
  if (drains.delete(d)) sync();
}

/** One listener for each signal some open Netconsole wants. */
function sync(): void {
  for (const sig of DRAIN_SIGNALS) {
    const wanted = [...drains].some((d) => d.signals.has(sig));
    const l = installed.get(sig);
    if (wanted && !l) install(sig);
    else if (!wanted && l) uninstall(sig, l);
  }
}

function install(sig: DrainSignal): void {
  // With other listeners, what Node would do once they are all gone is SIG_DFL: nothing to save.
  const action = process.listenerCount(sig) === 0 ? dispositionOf(sig) : null;
  if (action) saved.set(sig, action);
  else saved.delete(sig);
  const listener = Object.assign(() => onSignal(sig), { [MARK]: true });
  installed.set(sig, listener);
  process.on(sig, listener);
}

function uninstall(sig: DrainSignal, l: () => void): void {
  installed.delete(sig);
  process.off(sig, l);
  const action = saved.get(sig);
  saved.delete(sig);
  if (action && process.listenerCount(sig) === 0) setDisposition(sig, action);
}

function dispositionOf(sig: DrainSignal): Buffer | null {
  try {
    return native?.signalAction(constants.signals[sig]) ?? null;
  } catch {
    return null;
  }
}

function setDisposition(sig: DrainSignal, action: Buffer): void {
  try {
    native?.setSignalAction(constants.signals[sig], action);
  } catch {
    // The re-raise meets SIG_DFL: the process still dies of the signal.
  }
}

/** How many signal-exit listeners (one per loaded copy and signal) are among a signal's listeners. */
function signalExitCopies(): number {
  const v4 = (globalThis as Record<symbol, unknown>)[Symbol.for('signal-exit emitter')] as
    { count?: unknown } | undefined;
  const v3 = (process as unknown as Record<string, unknown>).__signal_exit_emitter__ as { count?: unknown } | undefined;
  return (typeof v4?.count === 'number' ? v4.count : 0) + (typeof v3?.count === 'number' ? v3.count : 0);
}

/** Whether a listener other than this hook's (any copy) and signal-exit's listens to `sig`. */
function othersListen(sig: DrainSignal): boolean {
  let n = 0;
  for (const l of process.listeners(sig)) if (!(MARK in l)) n++;
  return n - signalExitCopies() > 0;
}

function onSignal(sig: DrainSignal): void {
  if (ending) return end(); // a second signal while the loop turns: no more waiting
  if (othersListen(sig)) return;
  const t0 = performance.now();
  const mine = [...drains].filter((d) => d.signals.has(sig));
  // The dgram sender: what libuv queued for a full socket buffer goes out only as the loop turns.
  const waiting = (): boolean =>
    mine.some((d) => drains.has(d) && d.queued() > 0 && performance.now() < t0 + d.boundMs);
  try {
    for (const d of mine) d.kick();
    for (const d of mine) d.drainSync(t0 + d.boundMs - performance.now());
    if (!waiting()) return die(sig, mine);
  } catch {
    return die(sig, mine); // nothing may keep the process from dying of the signal
  }
  const timer = setInterval(() => {
    let done: boolean;
    try {
      done = !waiting();
    } catch {
      done = true;
    }
    if (done) end();
  }, QUEUE_POLL_MS);
  ending = { sig, timer, mine };
}

function end(): void {
  const e = ending!;
  clearInterval(e.timer);
  ending = null;
  die(e.sig, e.mine);
}

/** What could not go is said; then the signal again, with the default action restored. */
function die(sig: DrainSignal, mine: SignalDrain[]): void {
  for (const d of mine) {
    try {
      if (drains.has(d)) d.reportLeft(`the process died of ${sig}`); // not one closed meanwhile
    } catch {
      // Said nothing; the signal still ends the process.
    }
  }
  // Not installed again by sync(): if the process survives (someone else listens now), a listener
  // of ours must not take the signal being re-raised. The next create() or close() installs it.
  const l = installed.get(sig);
  if (l) uninstall(sig, l);
  process.kill(process.pid, sig);
}

/** A stderr line that must not throw (stderr may be a terminal that hung up: SIGHUP). */
export function sayOnStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // Nowhere left to say it.
  }
}
