// Where the tuner (--out, a config file) and the bench runner (--out, a directory for latest.json) put
// what they measured. Both measure for minutes before they write, so the place is checked first
// (checkWritable: a file is created, written and removed where the result will go), and the result
// is written atomically (writeAtomically: a temporary file beside it, renamed over it), so that a
// failure (a full disk, a directory removed meanwhile) leaves no empty or partial file.
//
// Written here rather than with write-file-atomic: the check before measuring needs the same file
// handling, and that package's current major no longer runs on Node 20.
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What the probe writes: a page, so that a full file system is found before measuring, not after. */
const PROBE_BYTES = 4096;

/** A file system error in one line, without the path Node appends: `ENOSPC: no space left on device`. */
export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.message === 'string') return e.message.split(/,\s/)[0];
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** Writes all of `data` (write(2) may take part of it, then fail on the next call: ENOSPC). */
function writeAll(fd: number, data: Uint8Array): void {
  for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
}

/** The temporary file beside `file` (hidden, this process's). */
function temporary(file: string, what: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${what}`);
}

/** A result that could not be written: one line, the path and why. */
export class WriteError extends Error {}

/**
 * Checks that `file` can be written before anything is measured: its directory exists and takes a
 * file of PROBE_BYTES (created beside it and removed), and `file` is not a directory. Throws a
 * TypeError (a bad command line): `<label>: why`, the label naming the option and its value.
 */
export function checkWritable(file: string, label: string): void {
  const dir = dirname(file);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new TypeError(
      `${label}: the directory ${dir} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be used (${fsReason(err)})`}`,
    );
  }
  if (!st.isDirectory()) throw new TypeError(`${label}: ${dir} is not a directory`);
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    // not there yet (or not reachable): the probe says whether it can be made
  }
  if (isDir) throw new TypeError(`${label}: ${file} is a directory, not a file`);
  const probe = temporary(file, 'probe');
  let fd = -1;
  try {
    fd = openSync(probe, 'w', 0o600);
    writeAll(fd, Buffer.alloc(PROBE_BYTES));
  } catch (err) {
    throw new TypeError(`${label}: cannot write in ${dir}: ${fsReason(err)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    rmSync(probe, { force: true });
  }
}

/**
 * Writes `text` to `file` atomically: into a temporary file beside it (through a symbolic link, to
 * where it points), flushed to disk, then renamed over it. On failure the temporary file is
 * removed, `file` is as it was, and the WriteError says why in one line.
 */
export function writeAtomically(file: string, text: string): void {
  let dest = file;
  try {
    dest = realpathSync(file);
  } catch {
    // not there yet: written where it was named
  }
  const tmp = temporary(dest, 'tmp');
  let fd = -1;
  try {
    let mode: number | undefined;
    try {
      mode = statSync(dest).mode & 0o7777;
    } catch {
      // a new file: 0666 less the umask, as writeFileSync makes it
    }
    fd = openSync(tmp, 'w', 0o666);
    if (mode !== undefined) fchmodSync(fd, mode); // a file replaced keeps its permissions
    writeAll(fd, Buffer.from(text));
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, dest);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new WriteError(`${file}: ${fsReason(err)}`);
  }
}
