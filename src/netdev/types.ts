// Device (netdev) events and device facts: the contract between the sources of device
// information (the sysfs poller here, rtnetlink in the native addon) and the host's single entry
// point for events (docs/targets.md section 4).

export type NetdevEventType =
  | 'register' // a device appeared
  | 'unregister' // a device went away
  | 'rename' // name changed (oldName -> name), same ifindex
  | 'enslave' // joined a master (bond/bridge/team)
  | 'release' // left its master
  | 'up' // administratively up, or carrier came back (running)
  | 'down'; // administratively down, or carrier lost (not running)

export interface NetdevEvent {
  type: NetdevEventType;
  /** The device's (new) name. */
  name: string;
  /** For 'rename': the name it had. */
  oldName?: string;
  ifindex: number;
  /** Lowercase xx:xx:xx:xx:xx:xx, when known. */
  mac?: string;
  /** For 'enslave': the master's name. */
  master?: string;
  /**
   * For 'up' and 'down' from a device source (the poller, rtnetlink): whether the device is
   * administratively up (IFF_UP). Such events leave the write path alone (the sender watches the
   * device and holds a target's records while it cannot carry them); an injected 'down' without
   * it makes the write path skip the target's records, as the kernel does.
   */
  up?: boolean;
}

export interface DeviceAddress {
  family: 4 | 6;
  /** Canonical text form. */
  address: string;
}

export interface DeviceInfo {
  name: string;
  ifindex: number;
  /** Lowercase xx:xx:xx:xx:xx:xx ('00:00:00:00:00:00' for lo). */
  mac: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** Up with carrier (IFF_RUNNING / operstate up or unknown-but-up for lo). */
  running: boolean;
  /** Name of the master device (bond, bridge, team) when enslaved, else null. */
  master: string | null;
  addresses: DeviceAddress[];
}

// IFA_F_* address flags (linux/if_addr.h), shared by the sysfs and rtnetlink sources.
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

/** Device facts the host needs; sysfs by default, rtnetlink through the addon when present. */
export interface DeviceLookup {
  /** Neighbour table entries (rtnetlink only): what remote_mac 'auto' resolves through. */
  neighbors?(): Array<{ ifindex: number; dst: string | null; lladdr: string | null; state: number }>;
  getDevice(name: string): DeviceInfo | null;
  deviceByMac(mac: string): DeviceInfo | null;
  routeDevice(remoteIp: string): { dev: string; gateway: string | null } | null;
  sourceAddress(dev: string, family: 4 | 6, remoteIp?: string): string | null;
}
