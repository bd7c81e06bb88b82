// What a read of a target's attribute returns, as its configfs show method prints it.
import { ipFamilyOf } from '../base/addr.js';
import { NetconsoleError } from '../base/errors.js';
import { closest } from '../base/names.js';
import { ATTRIBUTE_NAMES, DEFAULT_ATTRIBUTES, WRITE_ONLY_ATTRIBUTES, type TargetAttributes } from './attributes.js';

const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** What the target's read-only attributes show; defaults per docs/targets.md. */
export interface RuntimeAttributes {
  local_mac?: string;
  transmit_errors?: number;
  /** Beyond the kernel: a reliable target's counters as `name=value` pairs (docs/reliable.md). */
  reliable_stats?: string;
}

function formatUnsetIp(other: string | null): string {
  // The kernel keeps one family flag (np.ipv6) for both addresses and prints an unset one as the
  // zero address of that family.
  return other !== null && ipFamilyOf(other) === 6 ? '::' : '0.0.0.0';
}

/**
 * The text a configfs read returns, without the trailing newline. An unset IP reads as the
 * kernel shows it, the zero address ('0.0.0.0', or '::' when the other IP is IPv6), and writing
 * that text back leaves it unset, so reads round-trip through parseAttributeWrite.
 */
export function formatAttribute(attrs: TargetAttributes, name: string, runtime: RuntimeAttributes = {}): string {
  switch (name) {
    case 'local_mac':
      return runtime.local_mac ?? BROADCAST_MAC;
    case 'transmit_errors':
      return String(runtime.transmit_errors ?? 0);
    case 'reliable_stats':
      return runtime.reliable_stats ?? '';
    case 'local_ip':
      return attrs.local_ip ?? formatUnsetIp(attrs.remote_ip);
    case 'remote_ip':
      return attrs.remote_ip ?? formatUnsetIp(attrs.local_ip);
  }
  if (WRITE_ONLY_ATTRIBUTES.has(name)) {
    throw new NetconsoleError(
      'EACCES',
      `${name}: write-only attribute, cannot read; accepted: a write (the text to send to this target)`,
      { option: name, accepted: 'a write' },
    );
  }
  if (!Object.prototype.hasOwnProperty.call(DEFAULT_ATTRIBUTES, name)) {
    // A read has no value to quote (InvalidValueError would print "undefined"): the name, a
    // did-you-mean, the names there are.
    const close = closest(name, ATTRIBUTE_NAMES);
    const accepted = `one of ${ATTRIBUTE_NAMES.join(', ')}`;
    throw new NetconsoleError(
      'ENOENT',
      `${name}: no such attribute${close !== undefined ? ` (did you mean '${close}'?)` : ''}; accepted: ${accepted}`,
      { option: name, accepted },
    );
  }
  const value = attrs[name as keyof TargetAttributes];
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}
