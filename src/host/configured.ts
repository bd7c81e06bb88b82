// The targets of create()'s options (a parameter string, an array, a config file's or
// NETCONSOLE's), brought up when the Netconsole is made. Strict: the first that does not come up
// rejects create(). Not strict (as the kernel's alloc_param_target): a target that cannot be set
// up stays, DISABLED, to be fixed and enabled later; the error is kept and warned about.
import { NetconsoleError } from '../base/errors.js';
import { parseParamString } from '../config/params.js';
import type { ResolvedOptions } from './resolve.js';
import type { TargetTable } from './target-table.js';
import { targetsSource, warnNoTargets, warnNotSetUp, warnUnparsed } from './warnings.js';

/** Creates the configured targets in `table`; `startupErrors` gets what did not come up (not strict).
 *  `origin` names the options in warnings when an integration made them. */
export async function addConfigured(
  table: TargetTable,
  o: ResolvedOptions,
  origin: string | undefined,
  startupErrors: NetconsoleError[],
): Promise<void> {
  const { targets, strict } = o;
  // None at all: said once, unless a control socket is to bring them, or `targets: []` said
  // that none is meant (targets created later).
  const none =
    targets === undefined ||
    targets === '' ||
    (Array.isArray(targets) && targets.length === 0 && o.targetsFrom !== 'targets');
  if (none && o.control === undefined) warnNoTargets(o, origin);
  if (targets === undefined) return;
  const source = targetsSource(o, origin);
  const specs: Array<{ name: string; attrs: Record<string, unknown>; bindMac: string | null }> = [];
  if (typeof targets === 'string') {
    const parsed = parseParamString(targets, o.targetsOption);
    if (strict && parsed.errors.length > 0) throw parsed.errors[0];
    startupErrors.push(...parsed.errors);
    for (const err of parsed.errors) warnUnparsed(source, err, origin);
    for (const t of parsed.targets)
      specs.push({ name: t.name, attrs: { ...t.attributes }, bindMac: t.bindMac ?? null });
  } else {
    targets.forEach((t, i) => {
      const { name, ...attrs } = t;
      specs.push({ name: name ?? `target${i}`, attrs, bindMac: null });
    });
  }
  for (const s of specs) {
    // Not strict (a parameter string), as the kernel's alloc_param_target: a target that cannot
    // be set up stays, DISABLED, to be fixed and enabled later; the error is reported.
    const { enabled, ...attrs } = s.attrs;
    let created = false;
    try {
      const rec = await table.create(s.name, strict ? s.attrs : attrs, s.bindMac);
      created = true;
      if (!strict && enabled !== undefined && enabled !== false && enabled !== 0)
        await table.set(rec, 'enabled', enabled);
    } catch (err) {
      if (strict || !(err instanceof NetconsoleError)) throw err;
      startupErrors.push(err);
      warnNotSetUp(source, s.name, s.attrs, err, created);
    }
  }
}
