// How a worker process (netconsole tune's sender, the bench's) talks to its parent: command lines on stdin, taken one at a time,
// and one JSON object per stdout line.
import { createInterface } from 'node:readline';

const commands: string[] = [];
let wake: (() => void) | null = null;
let listening = false;

/** The next command line from the runner (waits for it). */
export async function command(): Promise<string> {
  if (!listening) {
    listening = true;
    createInterface({ input: process.stdin }).on('line', (l) => {
      commands.push(l.trim());
      wake?.();
    });
  }
  while (commands.length === 0) await new Promise<void>((r) => (wake = r));
  return commands.shift()!;
}

export const print = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
