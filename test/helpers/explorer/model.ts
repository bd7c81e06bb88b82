// The kernel's netconsole, as a model of what its targets do (drivers/net/netconsole.c: enabled_store,
// drop_netconsole_target, the *_store handlers, netconsole_netdev_event, process_resume_target),
// for the schedule explorer (test/explorer.test.ts).
//
// An operation is a list of atomic steps, each one a place where the kernel (and this library)
// decides something under a lock: a configuration write's admission (at the call: a closed
// Netconsole refuses it) and its effect (under the configuration mutex); a device's change of the
// world (at the call) and the notifier (under rtnl), then one resume per matching DEACTIVATED target
// (a work item: under the configuration mutex, re-checking the state). checker.ts looks for an
// order of all steps that explains what the library did.

export type OpKind =
  | 'enable'
  | 'disable'
  | 'remove'
  | 'set'
  | 'userdata'
  | 'unregister'
  | 'register-name'
  | 'register-mac'
  | 'rename'
  | 'down'
  | 'up'
  | 'enslave'
  | 'close';

export const OP_KINDS: readonly OpKind[] = [
  'enable',
  'disable',
  'remove',
  'set',
  'userdata',
  'unregister',
  'register-name',
  'register-mac',
  'rename',
  'down',
  'up',
  'enslave',
  'close',
];
export const DEVICE_OPS: ReadonlySet<OpKind> = new Set([
  'unregister',
  'register-name',
  'register-mac',
  'rename',
  'down',
  'up',
  'enslave',
]);

/** The one network device the targets use. Each registration is a new ifindex. */
export interface MWorld {
  present: boolean;
  name: string;
  mac: string;
  ifindex: number;
  running: boolean;
  enslaved: boolean;
}

export type MTargetState = 'disabled' | 'enabled' | 'deactivated';

export interface MTarget {
  name: string;
  exists: boolean;
  state: MTargetState;
  /** The dev_name attribute ('' for a target bound by MAC). */
  devName: string;
  bindMac: string | null;
  /** The ifindex it is bound to while enabled. */
  bound: number | null;
  /** Sends (the write path does not skip it): its device was running at setup or since. */
  up: boolean;
}

export interface MState {
  world: MWorld;
  targets: MTarget[];
  closing: boolean;
}

/** The result of an operation: 'ok', or an errno code. */
export type Result = string;

export interface Step {
  /** At the call itself (ordered by call order), or later under a lock. */
  sync: boolean;
  label: string;
  /** Applies the step; returns the op's result when this step decides it (its later steps are then
   *  not run), and any steps it adds. An op whose steps all ran without a result succeeded. */
  run(s: MState): { result?: Result; more?: Step[] };
}

export function cloneState(s: MState): MState {
  return { world: { ...s.world }, targets: s.targets.map((t) => ({ ...t })), closing: s.closing };
}

/** What the renames and registrations of a run call the device. */
export const NAMES = { first: 'nx0', renamed: 'nx1', byMac: 'nx9' };

/**
 * The steps of one operation on target `on` (configuration) or on the device (device events).
 * `nextIfindex` gives a registration its new ifindex (the same in the model and in the run).
 */
export function stepsOf(kind: OpKind, on: string, nextIfindex: number): Step[] {
  switch (kind) {
    case 'enable':
      return [
        admit(kind),
        effect('enable: reset', (s) => enableCheck(s, on)),
        effect('enable: set up', (s) => enableSetup(s, on)),
      ];
    case 'disable':
      return [admit(kind), effect('disable', (s) => disable(s, on))];
    case 'remove':
      return [admit(kind), effect('remove', (s) => remove(s, on))];
    case 'set':
      // remote_port (a locked attribute), written with the value it has.
      return [
        admit(kind),
        effect('set remote_port', (s) => withTarget(s, on, (t) => (t.state === 'enabled' ? 'EINVAL' : 'ok'))),
      ];
    case 'userdata':
      return [admit(kind), effect('userdata.set', (s) => withTarget(s, on, () => 'ok'))];
    case 'close':
      return [
        { sync: true, label: 'close: refuse from now on', run: (s) => ((s.closing = true), {}) },
        effect('close: disable all', (s) => {
          for (const t of s.targets) if (t.exists && t.state !== 'disabled') disableTarget(t);
          return { result: 'ok' };
        }),
      ];
    default:
      return deviceSteps(kind, nextIfindex);
  }
}

function admit(kind: OpKind): Step {
  return { sync: true, label: `${kind}: admit`, run: (s) => (s.closing ? { result: 'ESHUTDOWN' } : {}) };
}

/** A configuration step (under the configuration mutex), skipped once the op has its result. */
function effect(label: string, fn: (s: MState) => Result | { result?: Result; more?: Step[] } | undefined): Step {
  return {
    sync: false,
    label,
    run: (s) => {
      const r = fn(s);
      return typeof r === 'string' ? { result: r } : (r ?? {});
    },
  };
}

function target(s: MState, name: string): MTarget {
  return s.targets.find((t) => t.name === name)!;
}

function withTarget(s: MState, name: string, fn: (t: MTarget) => Result): Result {
  const t = target(s, name);
  return t.exists ? fn(t) : 'ENOENT';
}

function disableTarget(t: MTarget): void {
  t.state = 'disabled';
  t.bound = null;
}

/** enabled_store, up to its check: DEACTIVATED becomes DISABLED, then "already started". */
function enableCheck(s: MState, on: string): { result?: Result } {
  const t = target(s, on);
  if (!t.exists) return { result: 'ENOENT' };
  if (t.state === 'deactivated') t.state = 'disabled';
  return t.state === 'enabled' ? { result: 'EINVAL' } : {};
}

/** netcons_netpoll_setup with the world as it is, then ENABLED. */
function enableSetup(s: MState, on: string): Result {
  const t = target(s, on);
  const r = setup(s, t);
  if (r === 'ok') bind(s, t);
  return r;
}

function setup(s: MState, t: MTarget): Result {
  const w = s.world;
  const found = w.present && (t.bindMac !== null ? w.mac === t.bindMac : w.name === t.devName);
  if (!found) return 'ENODEV';
  return w.enslaved ? 'EBUSY' : 'ok';
}

function bind(s: MState, t: MTarget): void {
  t.state = 'enabled';
  t.bound = s.world.ifindex;
  t.up = s.world.running;
}

function disable(s: MState, on: string): Result {
  const t = target(s, on);
  if (!t.exists) return 'ENOENT';
  if (t.state === 'deactivated') t.state = 'disabled';
  if (t.state !== 'enabled') return 'EINVAL';
  disableTarget(t);
  return 'ok';
}

function remove(s: MState, on: string): Result {
  const t = target(s, on);
  if (!t.exists) return 'ENOENT';
  t.exists = false;
  disableTarget(t);
  return 'ok';
}

/** A device event: the world changes at the call, the notifier runs under rtnl (with the device as
 *  the event described it then), resumes follow. */
function deviceSteps(kind: OpKind, nextIfindex: number): Step[] {
  let ev: EventDevice;
  return [
    {
      sync: true,
      label: `${kind}: world`,
      run: (s) => {
        const old = s.world.ifindex;
        changeWorld(s.world, kind, nextIfindex);
        ev = { ifindex: kind === 'unregister' ? old : s.world.ifindex, name: s.world.name, mac: s.world.mac };
        return {};
      },
    },
    { sync: false, label: `${kind}: notifier`, run: (s) => notifier(s, kind, ev) },
  ];
}

/** The device as an event describes it. */
interface EventDevice {
  ifindex: number;
  name: string;
  mac: string;
}

/** Whether a device event can happen to the world as it is (a device is registered only when
 *  absent; renamed, taken down or up, enslaved, unregistered only when present). */
export function possible(w: MWorld, kind: OpKind): boolean {
  if (!DEVICE_OPS.has(kind)) return true;
  return kind === 'register-name' || kind === 'register-mac' ? !w.present : w.present;
}

export function changeWorld(w: MWorld, kind: OpKind, nextIfindex: number): void {
  switch (kind) {
    case 'unregister':
      w.present = false;
      break;
    case 'register-name': // the same name, a new device (new ifindex and MAC)
      Object.assign(w, {
        present: true,
        name: NAMES.first,
        mac: '02:00:00:00:01:02',
        ifindex: nextIfindex,
        running: true,
        enslaved: false,
      });
      break;
    case 'register-mac': // the same MAC under another name
      Object.assign(w, {
        present: true,
        name: NAMES.byMac,
        mac: '02:00:00:00:00:01',
        ifindex: nextIfindex,
        running: true,
        enslaved: false,
      });
      break;
    case 'rename':
      w.name = w.name === NAMES.renamed ? NAMES.first : NAMES.renamed;
      break;
    case 'down':
    case 'up':
      w.running = kind === 'up';
      break;
    case 'enslave':
      w.enslaved = true;
      break;
  }
}

/** netconsole_netdev_event: the targets bound to the device follow it; matching DEACTIVATED
 *  targets get a resume, a step of its own. Ignored once the Netconsole closes. */
function notifier(s: MState, kind: OpKind, ev: EventDevice): { result?: Result; more?: Step[] } {
  if (s.closing) return {};
  const more: Step[] = [];
  for (const t of s.targets) {
    if (!t.exists) continue;
    if (t.state === 'enabled' && t.bound === ev.ifindex) {
      if (kind === 'rename' && t.bindMac === null) t.devName = ev.name;
      if (kind === 'down' || kind === 'up') t.up = kind === 'up';
      if (kind === 'unregister') ((t.state = 'deactivated'), (t.bound = null));
      if (kind === 'enslave') disableTarget(t);
    }
    const registers = kind === 'register-name' || kind === 'register-mac' || kind === 'rename';
    if (registers && t.state === 'deactivated' && (t.bindMac !== null ? t.bindMac === ev.mac : t.devName === ev.name)) {
      more.push(resumeStep(t.name));
    }
  }
  return { more };
}

/** process_resume_target: only a target still DEACTIVATED; setup fails once: DISABLED. */
function resumeStep(name: string): Step {
  return {
    sync: false,
    label: `resume ${name}`,
    run: (s) => {
      const t = target(s, name);
      if (!s.closing && t.exists && t.state === 'deactivated') {
        if (setup(s, t) === 'ok') bind(s, t);
        else t.state = 'disabled';
      }
      return {};
    },
  };
}

/** How many targets a log call reaches in state `s`. */
export function reached(s: MState): number {
  if (s.closing) return 0;
  return s.targets.filter((t) => t.exists && t.state === 'enabled' && t.up).length;
}
