// The receiver of `netconsole demo`, on its own thread so that it drains its socket while the
// main thread sends: posts its address, then on request the messages' sample and its counters.
import { parentPort } from 'node:worker_threads';
import { Receiver, type Message } from '../receiver/receiver.js';

const SAMPLE = 20;
const receiver = new Receiver();
const sample: Message[] = [];
receiver.on('message', (m: Message) => {
  if (sample.length < SAMPLE || !/^worker \d+ message/.test(m.text.replace(/^\[[ \d.]+\] /, ''))) sample.push(m);
});
const address = await receiver.listen('127.0.0.1', 0);
parentPort!.postMessage({ address });
parentPort!.on('message', async (cmd: string) => {
  if (cmd !== 'report') return;
  await receiver.close();
  parentPort!.postMessage({ sample, counters: receiver.counters });
});
