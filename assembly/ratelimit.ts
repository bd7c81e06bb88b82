// A target's rate limit (configfs ratelimit_interval_ms, ratelimit_burst; kernel ___ratelimit()),
// under the target-list spinlock: write.ts asks it once per message, and peeks at it to plan.
import { TGT_RL_BEGIN, TGT_RL_BURST, TGT_RL_INTERVAL, TGT_RL_MISSED, TGT_RL_PRINTED } from './layout';
import { ts } from './record';

/**
 * Kernel ___ratelimit(): at most `burst` messages per `interval`; checked once per message.
 * Whether a message passes now; `commit`: it is being sent, and the interval's counts take it
 * (otherwise a peek: nothing changes). BEGIN 0 ("no interval yet") comes only with PRINTED and
 * MISSED 0 (clearTarget, lists.ts target_set), so it starts an interval like an expired one.
 */
export function ratelimit(tp: usize, commit: bool): bool {
  const interval = <u64>load<u32>(tp + TGT_RL_INTERVAL) * 1000;
  if (interval == 0) return true;
  const begin = load<u64>(tp + TGT_RL_BEGIN);
  const fresh = begin == 0 || ts > begin + interval;
  const printed: u32 = fresh ? 0 : load<u32>(tp + TGT_RL_PRINTED);
  const pass = printed < load<u32>(tp + TGT_RL_BURST);
  if (!commit) return pass;
  if (fresh) {
    store<u64>(tp + TGT_RL_BEGIN, ts | 1); // 0 means "no interval yet"
    store<u32>(tp + TGT_RL_PRINTED, 0);
    store<u32>(tp + TGT_RL_MISSED, 0);
  }
  if (pass) store<u32>(tp + TGT_RL_PRINTED, printed + 1);
  else store<u32>(tp + TGT_RL_MISSED, load<u32>(tp + TGT_RL_MISSED) + 1);
  return pass;
}
