import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FactoryError } from '../factory.errors';

const pad = (chunk: number) => String(chunk).padStart(6, '0');
export const TMP_SUFFIX = '.tmp';

/**
 * Where a batch lives on disk. Every file appears under its final name only once complete: it is
 * written as `<name>.tmp`, flushed, then renamed. A chunk is done when its bundles file exists.
 */
export class BatchLayout {
  constructor(readonly dir: string) {}

  get batchFile(): string {
    return join(this.dir, 'batch.json');
  }
  get lockFile(): string {
    return join(this.dir, 'batch.lock');
  }
  get bundlesDir(): string {
    return join(this.dir, 'bundles');
  }
  get enrollmentDir(): string {
    return join(this.dir, 'enrollment');
  }
  get rejectedDir(): string {
    return join(this.dir, 'rejected');
  }
  get enrollmentList(): string {
    return join(this.dir, 'enrollment-list.csv');
  }
  get rejectedReport(): string {
    return join(this.dir, 'rejected.jsonl');
  }
  get manifest(): string {
    return join(this.dir, 'manifest.json');
  }
  get manifestSignature(): string {
    return join(this.dir, 'manifest.sig');
  }

  bundles(chunk: number): string {
    return join(this.bundlesDir, `chunk-${pad(chunk)}.jsonl`);
  }
  enrollment(chunk: number): string {
    return join(this.enrollmentDir, `chunk-${pad(chunk)}.csv`);
  }
  rejected(chunk: number): string {
    return join(this.rejectedDir, `chunk-${pad(chunk)}.jsonl`);
  }

  /** The batch directory itself, owner-only: bundles hold private keys, PSK lists hold keys. */
  async prepareDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Creates the chunk directories and deletes what an interrupted run left half-written. */
  async prepare(): Promise<void> {
    for (const dir of [this.dir, this.bundlesDir, this.enrollmentDir, this.rejectedDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(dir)) {
        if (name.endsWith(TMP_SUFFIX)) await rm(join(dir, name), { force: true });
      }
    }
  }

  async isChunkDone(chunk: number): Promise<boolean> {
    return exists(this.bundles(chunk));
  }

  /**
   * Makes a chunk's parts final: each flushed to disk, then renamed, the bundles file last since its
   * presence marks the chunk done. The flushes run on libuv's threads, while the workers go on minting.
   */
  async commitChunk(chunk: number, withRejected: boolean): Promise<void> {
    const parts = [
      ...(withRejected ? [this.rejected(chunk)] : []),
      this.enrollment(chunk),
      this.bundles(chunk),
    ];
    await Promise.all(parts.map((part) => flush(tmp(part))));
    for (const part of parts) await rename(tmp(part), part);
  }

  /** Only one process writes a batch: a lock naming its pid, taken over when that pid is gone. */
  async lock(pid = process.pid): Promise<() => Promise<void>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(this.lockFile, 'wx', 0o600);
        await handle.writeFile(`${pid}\n`);
        await handle.close();
        return () => rm(this.lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number((await readFile(this.lockFile, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== pid && isAlive(holder)) {
          throw new FactoryError('BATCH_CONFLICT', `${this.dir} is being written by process ${holder}`);
        }
        await rm(this.lockFile, { force: true });
      }
    }
    throw new FactoryError('BATCH_CONFLICT', `could not lock ${this.dir}`);
  }
}

export function tmp(path: string): string {
  return `${path}${TMP_SUFFIX}`;
}

async function flush(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Writes, flushes to disk and renames into place: the file exists complete or not at all. */
export async function writeFileAtomic(
  path: string,
  content: string | Uint8Array,
  mode: number,
): Promise<void> {
  const handle = await open(tmp(path), 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp(path), path);
}
