// What a test needs from the machine, checked one way everywhere: when it is missing the test is
// skipped with the reason, except under CI=true, where it fails (a CI run must not pass by
// skipping).
import type { TestContext } from 'node:test';
import { netnsUnavailable } from '../../harness/netns.js';
import { native, nativeError } from '../../src/core/native.js';
import { rtnetlinkAvailable } from '../../src/netdev/rtnetlink-dump.js';

/** Skips the test with `reason` and returns false; under CI=true, throws instead. */
export function unmet(t: TestContext, reason: string): false {
  if (process.env.CI === 'true') throw new Error(`CI=true and this test cannot run: ${reason}`);
  t.skip(reason);
  return false;
}

/** For tests that need root and network namespaces (harness/netns.ts): true when they can run. */
export function requireRoot(t: TestContext): boolean {
  const reason = netnsUnavailable();
  return reason === null || unmet(t, reason);
}

/**
 * For tests that need the native addon (`netlink`: with its rtnetlink support, native/netlink.cc):
 * true when it is loaded; otherwise unmet() with why it is not.
 */
export function requireNative(t: TestContext, need: 'addon' | 'netlink' = 'addon'): boolean {
  if (native === null)
    return unmet(t, `needs the native addon (npm run build:native): ${nativeError?.message ?? 'not loaded'}`);
  if (need === 'netlink' && !rtnetlinkAvailable())
    return unmet(t, 'needs the native addon with rtnetlink support (native/netlink.cc; npm run build:native)');
  return true;
}

/** Both senders, for tests parameterized by sender: each calls requireSender(t, sender) first. */
export const SENDERS = ['native', 'dgram'] as const;

/** The dgram sender is always there; the native one needs the addon (requireNative). */
export function requireSender(t: TestContext, sender: 'native' | 'dgram'): boolean {
  return sender !== 'native' || requireNative(t);
}
