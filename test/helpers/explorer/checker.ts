// Linearizability against the kernel model (model.ts), Jepsen-style: is there an order of all the
// operations' steps that (1) keeps each operation's steps in order, (2) puts every step at the
// call (sync steps, in call order) or between its operation's call and its settlement, as
// observed, and (3) gives every operation the result it had, every probe (a log call made as an
// operation settled) the number of targets it reached, and the final state that was read? A
// depth-first search over the observed sequence of calls and settlements, trying every pending
// step at each point, with the states already explored remembered.
import { cloneState, reached, stepsOf, type MState, type OpKind, type Result, type Step } from './model.js';

export interface ObservedOp {
  kind: OpKind;
  /** The target a configuration op acts on. */
  on: string;
  /** The ifindex a registration gives the device. */
  nextIfindex: number;
  result: Result;
}

/** Calls and settlements as they happened; a settlement carries its probe's count. */
export type ObservedEvent = { call: number } | { settle: number; reached: number };

export interface FinalTarget {
  name: string;
  exists: boolean;
  state?: string;
  devName?: string;
  device?: string | null;
}

export interface Observation {
  ops: ObservedOp[];
  events: ObservedEvent[];
  final: FinalTarget[];
}

/**
 * Per settlement: the targets that may send nothing after it (in the order found): not enabled
 * then nor ever again, and every operation that stopped or removed them since they were last
 * enabled has settled (such an operation settles only after the deferred cleanup it started or
 * took over: nothing of the target is in flight then).
 */
export type DeadAfter = Map<number, Set<string>>;

export type Verdict = { ok: true; order: string[]; deadAfter: DeadAfter } | { ok: false; reason: string };

interface OpRun {
  queue: Step[] | null; // null: not called yet
  result: Result | null;
}

function finalOf(s: MState): FinalTarget[] {
  return s.targets.map((t) =>
    t.exists
      ? {
          name: t.name,
          exists: true,
          state: t.state,
          devName: t.devName,
          device: t.state === 'enabled' && s.world.ifindex === t.bound ? s.world.name : null,
        }
      : { name: t.name, exists: false },
  );
}

/** Runs the sync steps at the front of a queue (those happen at the call itself). */
function runSync(s: MState, op: OpRun): void {
  while (op.queue!.length > 0 && op.queue![0].sync && op.result === null) runStep(s, op);
}

function runStep(s: MState, op: OpRun): void {
  const step = op.queue!.shift()!;
  const r = step.run(s);
  if (r.more) op.queue!.push(...r.more);
  if (r.result !== undefined) {
    op.result = r.result;
    op.queue = [];
  }
}

function done(op: OpRun): boolean {
  return op.queue !== null && (op.result !== null || op.queue.length === 0);
}

export function check(initial: MState, obs: Observation, budget = 200_000): Verdict {
  const seen = new Set<string>();
  let explored = 0;
  let deepest = { at: -1, why: 'no order of steps explains it' };
  type Node = {
    at: number;
    s: MState;
    ops: OpRun[];
    order: string[];
    states: Snapshot[];
    stoppedBy: Record<string, number[]>;
    settled: Set<number>;
  };

  const key = (n: Node): string =>
    `${n.at}|${JSON.stringify(n.s)}|${n.ops.map((o) => (o.queue === null ? 'n' : `${o.result}:${o.queue.map((q) => q.label).join(',')}`)).join(';')}`;

  const fork = (n: Node): Node => ({
    at: n.at,
    s: cloneState(n.s),
    ops: n.ops.map((o) => ({ queue: o.queue === null ? null : [...o.queue], result: o.result })),
    order: [...n.order],
    states: n.states,
    stoppedBy: { ...n.stoppedBy },
    settled: n.settled,
  });

  /** A step of op i: remembers which ops stopped or removed each target since it was last enabled. */
  const step = (n: Node, i: number, fn: () => void): void => {
    const before = n.s.targets.map((t) => ({ exists: t.exists, enabled: t.exists && t.state === 'enabled' }));
    fn();
    n.s.targets.forEach((t, k) => {
      const enabled = t.exists && t.state === 'enabled';
      if (enabled && !before[k].enabled) n.stoppedBy[t.name] = [];
      else if ((before[k].enabled && !enabled) || (before[k].exists && !t.exists))
        n.stoppedBy[t.name] = [...n.stoppedBy[t.name], i];
    });
  };

  const fail = (n: Node, why: string): void => {
    if (n.at > deepest.at) deepest = { at: n.at, why };
  };

  const search = (n: Node): Verdict | null => {
    if (++explored > budget) return null;
    const k = key(n);
    if (seen.has(k)) return null;
    seen.add(k);
    if (n.at === obs.events.length) {
      const want = JSON.stringify(finalOf(n.s));
      const got = JSON.stringify(obs.final);
      if (want === got) return { ok: true, order: n.order, deadAfter: deadAfter(n.states) };
      fail(n, `final state ${got}, the kernel's for this order: ${want}`);
      return null;
    }
    // The next observed event.
    const e = obs.events[n.at];
    const next = fork(n);
    next.at++;
    if ('call' in e) {
      const op = next.ops[e.call];
      const o = obs.ops[e.call];
      op.queue = stepsOf(o.kind, o.on, o.nextIfindex);
      next.order.push(`call ${e.call} ${o.kind}`);
      step(next, e.call, () => runSync(next.s, op));
      const r = search(next);
      if (r) return r;
    } else {
      const op = next.ops[e.settle];
      const want = op.result ?? 'ok';
      if (!done(op)) fail(n, `op ${e.settle} (${obs.ops[e.settle].kind}) settled before its steps could all run`);
      else if (want !== obs.ops[e.settle].result)
        fail(n, `op ${e.settle} (${obs.ops[e.settle].kind}) gave ${obs.ops[e.settle].result}, the kernel ${want}`);
      else if (reached(next.s) !== e.reached)
        fail(
          n,
          `the log call at op ${e.settle}'s settlement reached ${e.reached} targets, the kernel ${reached(next.s)}`,
        );
      else {
        next.order.push(`settle ${e.settle}`);
        next.settled = new Set([...n.settled, e.settle]);
        next.states = [
          ...n.states,
          { settle: e.settle, s: cloneState(next.s), stoppedBy: { ...next.stoppedBy }, settled: next.settled },
        ];
        const r = search(next);
        if (r) return r;
      }
    }
    // Or a pending step of an operation in flight.
    for (let i = 0; i < n.ops.length; i++) {
      const op = n.ops[i];
      if (op.queue === null || done(op)) continue;
      const branch = fork(n);
      const bop = branch.ops[i];
      branch.order.push(`op ${i}: ${bop.queue![0].label}`);
      step(branch, i, () => runStep(branch.s, bop));
      const r = search(branch);
      if (r) return r;
    }
    return null;
  };

  const stoppedBy = Object.fromEntries(initial.targets.map((t) => [t.name, []])) as Record<string, number[]>;
  const root: Node = {
    at: 0,
    s: cloneState(initial),
    ops: obs.ops.map(() => ({ queue: null, result: null })),
    order: [],
    states: [],
    stoppedBy,
    settled: new Set(),
  };
  const r = search(root);
  if (r) return r;
  if (explored > budget) return { ok: false, reason: `search budget of ${budget} states exhausted` };
  return { ok: false, reason: `${deepest.why} (after ${deepest.at} of ${obs.events.length} events)` };
}

type Snapshot = { settle: number; s: MState; stoppedBy: Record<string, number[]>; settled: Set<number> };

function deadAfter(states: Snapshot[]): DeadAfter {
  const out: DeadAfter = new Map();
  for (let i = 0; i < states.length; i++) {
    const dead = new Set<string>();
    for (const t of states[i].s.targets) {
      const later = states.slice(i).some((x) => x.s.targets.find((y) => y.name === t.name)!.state === 'enabled');
      if (!later && states[i].stoppedBy[t.name].every((op) => states[i].settled.has(op))) dead.add(t.name);
    }
    out.set(states[i].settle, dead);
  }
  return out;
}
