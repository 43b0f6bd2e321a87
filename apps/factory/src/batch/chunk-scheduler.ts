import { FactoryError, errorMessage } from '../factory.errors';

export interface ScheduleOptions<J, R> {
  /** Jobs in chunk order, produced lazily: a million meters never sit in memory as jobs. */
  readonly jobs: AsyncIterable<J> | Iterable<J>;
  readonly run: (job: J) => Promise<R>;
  /** Called in completion order, one at a time (renames, progress). */
  readonly onDone: (result: R) => Promise<void> | void;
  /** At most this many jobs are queued or running: memory stays flat however large the batch. */
  readonly maxInFlight: number;
  readonly signal?: AbortSignal;
}

/** Runs jobs with bounded concurrency; stops at the first failure (after in-flight jobs settle) or on abort. */
export async function schedule<J, R>(options: ScheduleOptions<J, R>): Promise<void> {
  const { signal } = options;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let completions = Promise.resolve();
  const interrupted = () => new FactoryError('INTERRUPTED', 'interrupted');
  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(interrupted());
    signal?.addEventListener('abort', () => reject(interrupted()), { once: true });
  });
  aborted.catch(() => undefined);

  for await (const job of options.jobs) {
    if (failure !== undefined) break;
    if (signal?.aborted) throw interrupted();
    const settled: Promise<void> = options
      .run(job)
      .then((result) => {
        // Serialise completion handling so renames and progress never interleave.
        completions = completions.then(() => (signal?.aborted ? undefined : options.onDone(result)));
        return completions;
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(settled));
    inFlight.add(settled);
    if (inFlight.size >= options.maxInFlight) await Promise.race([...inFlight, aborted]);
  }
  await Promise.race([Promise.all(inFlight), aborted]);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errorMessage(failure));
  if (signal?.aborted) throw interrupted();
}
