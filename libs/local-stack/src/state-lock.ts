import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, sleep } from './processes';
import { StackError } from './settings';

let inProcess: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` while holding the state dir's lock, so two commands (two shells, or a test run and a
 * shell) never start or stop the same servers at once. The lock file holds the holder's pid; a lock
 * left by a process that died is taken over. Calls from this process queue behind each other.
 */
export function withStateLock<T>(stateDir: string, work: () => Promise<T>, waitMs = 300_000): Promise<T> {
  const run = inProcess.then(async () => {
    const release = await acquire(stateDir, waitMs);
    try {
      return await work();
    } finally {
      release();
    }
  });
  inProcess = run.catch(() => undefined);
  return run;
}

async function acquire(stateDir: string, waitMs: number): Promise<() => void> {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'stack.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(file);
    if (holder === undefined) continue; // released meanwhile
    // A holder that died (or a file left half-written: wait a moment, it may be being written) is no holder.
    if (holder === 0 || !isAlive(holder)) {
      await sleep(50);
      const again = holderOf(file);
      if (again === holder) rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline)
      throw new StackError(`another stack.sh is still running on ${stateDir} (lock ${file}, pid ${holder})`);
    await sleep(100);
  }
}

/** The pid in the lock file; 0 when it holds no pid; undefined when there is no lock file. */
function holderOf(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return /^\d+$/.test(text) ? Number(text) : 0;
}
