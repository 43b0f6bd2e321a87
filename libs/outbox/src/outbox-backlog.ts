import type { Kysely } from 'kysely';
import { observeGauge } from '@meterkeep/observability';
import { type OutboxDb, type OutboxTableOptions, outboxView } from './outbox-table';

/** The backlog is counted up to this: a count costs at most this many index entries. */
export const BACKLOG_COUNT_CAP = 100_000;
const SAMPLE_TIMEOUT_MS = 3_000;
const SAMPLE_MAX_AGE_MS = 5_000;

export interface OutboxBacklog {
  /** Events not yet published, up to BACKLOG_COUNT_CAP. */
  events: number;
  /** Seconds since the oldest of them was written; 0 when there is none. */
  oldestAgeSeconds: number;
}

/** Reads the backlog of a service's outbox: two index reads, bounded. */
export async function readOutboxBacklog(
  db: Kysely<OutboxDb>,
  options: OutboxTableOptions,
  now = new Date(),
): Promise<OutboxBacklog> {
  const outbox = outboxView(db, options);
  const [counted, oldest] = await Promise.all([
    outbox
      .selectFrom((eb) => eb.selectFrom('outbox').select('id').limit(BACKLOG_COUNT_CAP).as('capped'))
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
    outbox.selectFrom('outbox').select('created_at').orderBy('id').limit(1).executeTakeFirst(),
  ]);
  return {
    events: Number(counted.count),
    oldestAgeSeconds: oldest ? Math.max(0, (now.getTime() - oldest.created_at.getTime()) / 1_000) : 0,
  };
}

/**
 * meterkeep.outbox.backlog and meterkeep.outbox.oldest_age while the relay runs: read at collection
 * (a scrape), at most every few seconds, and nothing reported when PostgreSQL does not answer in time.
 * Returns the function that stops it.
 */
export function observeOutboxBacklog(db: Kysely<OutboxDb>, options: OutboxTableOptions): () => void {
  let last: { at: number; backlog: Promise<OutboxBacklog | undefined> } | undefined;
  const sample = () => {
    if (!last || Date.now() - last.at > SAMPLE_MAX_AGE_MS)
      last = { at: Date.now(), backlog: withTimeout(readOutboxBacklog(db, options)).catch(() => undefined) };
    return last.backlog;
  };
  const stops = [
    observeGauge('outboxBacklog', async (observe) => {
      const backlog = await sample();
      if (backlog) observe(backlog.events, {});
    }),
    observeGauge('outboxOldestAge', async (observe) => {
      const backlog = await sample();
      if (backlog) observe(backlog.oldestAgeSeconds, {});
    }),
  ];
  return () => stops.forEach((stop) => stop());
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('outbox backlog: no answer in time')), SAMPLE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
