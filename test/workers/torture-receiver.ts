// Torture-test receiver, on its own thread: one socket per kind of target.
//   msgid sinks (v4, v6): every msgid seen, duplicates counted;
//   marker sinks (toggle, extra, race): datagrams from the test's marker socket ("ON"/"OFF") switch the
//   state; a target datagram while OFF is a violation (sent after a disable/remove resolved).
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';

interface MsgidSink { ids: Map<number, number>; datagrams: number }
interface MarkerSink { on: boolean; violations: number; delivered: number; markers: number; first: string[] }

async function open(address: string, onMessage: (b: Buffer) => void): Promise<Socket> {
  const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
  s.on('message', onMessage);
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

const msgid = { v4: { ids: new Map(), datagrams: 0 } as MsgidSink, v6: { ids: new Map(), datagrams: 0 } as MsgidSink };
const fresh = (): MarkerSink => ({ on: false, violations: 0, delivered: 0, markers: 0, first: [] });
const marker = { toggle: fresh(), extra: fresh(), race: fresh() };
const sockets: Record<string, Socket> = {};
for (const [name, addr] of [['v4', '127.0.0.1'], ['v6', '::1']] as const) {
  sockets[name] = await open(addr, (b) => {
    const sink = msgid[name];
    sink.datagrams++;
    const m = / msgid=(\d+)\n/.exec(b.toString('latin1'));
    if (m) sink.ids.set(Number(m[1]), (sink.ids.get(Number(m[1])) ?? 0) + 1);
  });
}
for (const name of ['toggle', 'extra', 'race'] as const) {
  sockets[name] = await open('127.0.0.1', (b) => {
    const sink = marker[name];
    const s = b.toString('latin1');
    if (s === 'MARK ON' || s === 'MARK OFF') {
      sink.markers++;
      sink.on = s === 'MARK ON';
    } else if (sink.on) sink.delivered++;
    else if (++sink.violations <= 3) sink.first.push(`after ${sink.markers} markers: ${s.slice(0, 80)}`);
  });
}
parentPort!.postMessage({ ports: Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, s.address().port])) });
parentPort!.on('message', () => {
  const summary = (s: MsgidSink) => {
    const ids = [...s.ids.keys()];
    return { datagrams: s.datagrams, unique: ids.length, duplicates: [...s.ids.values()].filter((c) => c > 1).length, min: Math.min(...ids), max: Math.max(...ids) };
  };
  parentPort!.postMessage({ v4: summary(msgid.v4), v6: summary(msgid.v6), ...marker });
  for (const s of Object.values(sockets)) s.close();
});
