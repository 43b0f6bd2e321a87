import { readFile } from 'node:fs/promises';
import type { CliIo } from '../cli/command';
import { ProgressBar } from '../cli/progress';
import type { IssuingCa } from '../ca/ca-store';
import { FactoryError } from '../factory.errors';
import { type BatchFile, credentialOf } from './batch-file';
import { type BatchLayout, exists } from './batch-layout';
import { schedule } from './chunk-scheduler';
import type { ChunkResult, WorkerInit } from './chunk-jobs';
import { finalizeBatch } from './finalize-batch';
import { type BatchManifest, batchManifest } from './manifest';
import { WorkerPool } from './worker-pool';

/** A unit of the plan: a chunk to run, or one found done (its item count, for progress). */
export type Planned<J> = { readonly job: J } | { readonly done: number };

export interface RunStats {
  readonly command: string;
  readonly batchId: string;
  readonly count: number;
  /** Items processed by this run (a resumed run skips what was done). */
  readonly processed: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly workers: number;
  /** process.resourceUsage().maxRSS, in bytes: the peak over the whole process, workers included. */
  readonly maxRssBytes: number;
  /** Resident set size when the run passed 25, 50, 75 and 100 % of the batch. */
  readonly rssAt: readonly { readonly percent: number; readonly rssBytes: number }[];
}

export interface BatchRun {
  readonly manifest: BatchManifest;
  readonly stats: RunStats;
}

/**
 * The part `batch create` and `batch sign-csrs` share: a worker pool over the planned chunks,
 * bounded in flight, each finished chunk renamed into place by this thread, progress on stderr,
 * then the enrollment list and the signed manifest. batch.json must already be written.
 */
export async function runBatch<J>(options: {
  readonly command: string;
  readonly layout: BatchLayout;
  readonly batch: BatchFile;
  readonly ca: IssuingCa;
  readonly init: WorkerInit;
  readonly workers: number;
  /** Chunks not yet done (an upper bound will do): caps the number of workers. */
  readonly chunksToDo: number;
  /** Items the progress bar counts: meters, or CSR lines. */
  readonly total: number;
  readonly plan: AsyncIterable<Planned<J>>;
  readonly io: CliIo;
}): Promise<BatchRun> {
  const { layout, batch, io } = options;
  const started = performance.now();
  const progress = new ProgressBar(options.command, options.total, io.stderr);
  // No more threads than chunks: a small batch does not pay for idle workers' start-up.
  const workers = Math.max(1, Math.min(options.workers, options.chunksToDo));
  const pool = new WorkerPool<J, ChunkResult>(workers, options.init);
  // Each worker got its own copy of the key: this thread's is wiped.
  if ('caKeyDer' in options.init) options.init.caKeyDer.fill(0);
  const quartiles = [25, 50, 75, 100];
  const rssAt: { percent: number; rssBytes: number }[] = [];
  let processed = 0;
  let done = 0;
  const sampleRss = () => {
    while (quartiles.length > 0 && done * 100 >= quartiles[0]! * options.total) {
      rssAt.push({ percent: quartiles.shift()!, rssBytes: process.memoryUsage.rss() });
    }
  };
  async function* jobs(): AsyncGenerator<J> {
    for await (const item of options.plan) {
      if ('job' in item) {
        yield item.job;
      } else {
        progress.skip(item.done);
        done += item.done;
      }
    }
  }
  try {
    await schedule({
      jobs: jobs(),
      run: (job) => pool.run(job),
      onDone: async (result) => {
        await layout.commitChunk(result.chunk, batch.source.kind === 'csr');
        const { items } = result;
        processed += items;
        done += items;
        progress.add(items);
        sampleRss();
      },
      // Jobs hold no bundle in memory (workers write files), so a deeper queue costs nothing and
      // keeps workers busy while finished chunks are flushed to disk.
      maxInFlight: workers * 4,
      signal: io.signal,
    });
  } catch (error) {
    progress.finish();
    if (error instanceof FactoryError && error.code === 'INTERRUPTED') {
      throw new FactoryError(
        'INTERRUPTED',
        `interrupted after ${done} of ${options.total}: run the same command again to continue`,
      );
    }
    throw error;
  } finally {
    await pool.close();
  }
  progress.finish();
  const manifest = await finalizeBatch(layout, batch, options.ca.privateKey, io.now());
  done = options.total;
  sampleRss();
  const elapsedMs = performance.now() - started;
  return {
    manifest,
    stats: {
      command: options.command,
      batchId: batch.batchId,
      count: manifest.count,
      processed,
      elapsedMs: Math.round(elapsedMs),
      perSecond: Math.round(processed / (elapsedMs / 1000)),
      workers,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      rssAt,
    },
  };
}

/** The closing lines of a finished batch, or its statistics as one JSON line. */
export function report(
  io: CliIo,
  layout: BatchLayout,
  batch: BatchFile,
  manifest: BatchManifest,
  stats: RunStats | undefined,
  statsJson: boolean,
): void {
  if (statsJson) {
    io.stdout.write(
      `${JSON.stringify(stats ?? { batchId: batch.batchId, count: manifest.count, processed: 0 })}\n`,
    );
    return;
  }
  const rate = stats && stats.processed > 0 ? ` (${stats.perSecond}/s over ${stats.workers} workers)` : '';
  io.stdout.write(
    `batch ${batch.batchId}: ${manifest.count} ${credentialOf(batch)} bundles in ${layout.dir}${rate}\n` +
      `  serials          ${manifest.serialRange.first} … ${manifest.serialRange.last}\n` +
      `  enrollment list  ${layout.enrollmentList} (sha256 ${manifest.enrollmentList.sha256})\n` +
      `  manifest         ${layout.manifest}, signed in ${layout.manifestSignature}\n`,
  );
}

/** The manifest of a batch already complete (manifest.json is written last), else undefined. */
export async function completedManifest(layout: BatchLayout): Promise<BatchManifest | undefined> {
  if (!(await exists(layout.manifest))) return undefined;
  return batchManifest.parse(JSON.parse(await readFile(layout.manifest, 'utf8')));
}
