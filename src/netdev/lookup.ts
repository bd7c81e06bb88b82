// Device look-ups by name, MAC and ifindex over a device list, shared by the sysfs and the
// rtnetlink sources (each lists devices its own way).
import type { DeviceInfo } from './types.js';

export interface DeviceFinders {
  /** The device named `name`, or null. */
  getDevice(name: string): DeviceInfo | null;
  /** The first device (lowest ifindex) whose MAC is `mac` (either case), or null. */
  deviceByMac(mac: string): DeviceInfo | null;
  deviceByIfindex(ifindex: number): DeviceInfo | null;
}

export function lookupsOver(listDevices: () => DeviceInfo[]): DeviceFinders {
  return {
    getDevice(name) {
      // Names become sysfs paths in one source: nothing that could leave /sys/class/net.
      if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') return null;
      return listDevices().find((d) => d.name === name) ?? null;
    },
    deviceByMac(mac) {
      if (typeof mac !== 'string') return null;
      const want = mac.toLowerCase();
      return listDevices().find((d) => d.mac === want) ?? null;
    },
    deviceByIfindex(ifindex) {
      return listDevices().find((d) => d.ifindex === ifindex) ?? null;
    },
  };
}
