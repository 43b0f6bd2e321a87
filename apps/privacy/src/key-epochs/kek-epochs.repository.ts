import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, KekEpochRow } from '../core/database';

/** Every table of keys wrapped under a KEK epoch: rotation moves them all, and an epoch holding any lives. */
const WRAPPED_KEY_TABLES = ['data_keys', 'release_keys'] as const;

/**
 * What stands for the meter in an export archive key's binding (tenant, this, export id): no endpoint
 * name holds parentheses, so an archive key's wrapping opens as no data key, nor the reverse.
 */
export const ARCHIVE_KEY_METER = '(export-archive)';

/** A live data key as rotation re-wraps it. */
export interface LiveKeyRow {
  key_id: string;
  tenant_id: string;
  meter_id: string;
  wrapped_key: Buffer;
  kek_epoch: number;
}

/** The epochs' records (never a KEK: those live in the ring, outside the database). */
@Injectable()
export class KekEpochsRepository {
  constructor(@Inject(DATABASE) readonly db: Executor) {}

  /** The newest epoch not destroyed: the one new keys are wrapped under. */
  current(executor: Executor = this.db): Promise<KekEpochRow> {
    return executor
      .selectFrom('kek_epochs')
      .selectAll()
      .where('destroyed_at', 'is', null)
      .orderBy('epoch', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
  }

  find(epoch: number, executor: Executor = this.db): Promise<KekEpochRow | undefined> {
    return executor.selectFrom('kek_epochs').selectAll().where('epoch', '=', epoch).executeTakeFirst();
  }

  all(): Promise<KekEpochRow[]> {
    return this.db.selectFrom('kek_epochs').selectAll().orderBy('epoch').execute();
  }

  async nextEpoch(executor: Executor): Promise<number> {
    const { max } = await executor
      .selectFrom('kek_epochs')
      .select((eb) => eb.fn.max('epoch').as('max'))
      .executeTakeFirstOrThrow();
    return (max ?? 0) + 1;
  }

  insert(executor: Executor, epoch: number, ringRef: string, openedAt: Date): Promise<KekEpochRow> {
    return executor
      .insertInto('kek_epochs')
      .values({ epoch, ring_ref: ringRef, opened_at: openedAt })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Live keys outside `current`, locked until the transaction ends (a destruction waits, or we do). Data
   * keys first, then the release gate's keys (wrapped the same way, with the same binding), then the
   * one-time keys of exports whose link is live (bound to ARCHIVE_KEY_METER and the export id).
   */
  async lockLiveKeysOutside(executor: Executor, current: number, limit: number): Promise<LiveKeyRow[]> {
    const keys: LiveKeyRow[] = [];
    for (const table of WRAPPED_KEY_TABLES) {
      if (keys.length >= limit) break;
      keys.push(
        ...((await executor
          .selectFrom(table)
          .select(['key_id', 'tenant_id', 'meter_id', 'wrapped_key', 'kek_epoch'])
          .where('wrapped_key', 'is not', null)
          .where('kek_epoch', '<>', current)
          .orderBy('key_id')
          .limit(limit - keys.length)
          .forUpdate()
          .execute()) as LiveKeyRow[]),
      );
    }
    if (keys.length < limit)
      keys.push(
        ...((await executor
          .selectFrom('exports')
          .select([
            'export_id as key_id',
            'tenant_id',
            sql<string>`${ARCHIVE_KEY_METER}::text`.as('meter_id'),
            'wrapped_archive_key as wrapped_key',
            'archive_key_epoch as kek_epoch',
          ])
          .where('wrapped_archive_key', 'is not', null)
          .where('archive_key_epoch', 'is not', null)
          .where('archive_key_epoch', '<>', current)
          .orderBy('export_id')
          .limit(limit - keys.length)
          .forUpdate()
          .execute()) as LiveKeyRow[]),
      );
    return keys;
  }

  async rewrap(executor: Executor, keyId: string, wrappedKey: Buffer, epoch: number): Promise<void> {
    // Key ids are unique across the tables (dk-…, rk-… and export ids): one of the updates matches.
    for (const table of WRAPPED_KEY_TABLES)
      await executor
        .updateTable(table)
        .set({ wrapped_key: wrappedKey, kek_epoch: epoch })
        .where('key_id', '=', keyId)
        .execute();
    await executor
      .updateTable('exports')
      .set({ wrapped_archive_key: wrappedKey, archive_key_epoch: epoch })
      .where('export_id', '=', keyId)
      .where('wrapped_archive_key', 'is not', null)
      .execute();
  }

  async liveKeys(executor: Executor, epoch: number): Promise<number> {
    let live = 0;
    for (const table of WRAPPED_KEY_TABLES) {
      const { count } = await executor
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('kek_epoch', '=', epoch)
        .where('wrapped_key', 'is not', null)
        .executeTakeFirstOrThrow();
      live += Number(count);
    }
    const { count } = await executor
      .selectFrom('exports')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('archive_key_epoch', '=', epoch)
      .where('wrapped_archive_key', 'is not', null)
      .executeTakeFirstOrThrow();
    return live + Number(count);
  }

  /** Marks the epoch as holding no live key since `at` (again, when strays were moved off it). */
  async retire(executor: Executor, epoch: number, at: Date): Promise<void> {
    await executor.updateTable('kek_epochs').set({ retired_at: at }).where('epoch', '=', epoch).execute();
  }

  async markDestroyed(executor: Executor, epoch: number, at: Date): Promise<void> {
    await executor.updateTable('kek_epochs').set({ destroyed_at: at }).where('epoch', '=', epoch).execute();
  }

  /**
   * Runs `work` while holding the rotation lock (a session advisory lock on a connection of its own),
   * or answers undefined at once when another replica or run holds it.
   */
  async withRotationLock<T>(work: () => Promise<T>): Promise<T | undefined> {
    return this.db.connection().execute(async (connection) => {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(hashtext('privacy.kek-epochs'), hashtext(current_schema())) as locked`.execute(
        connection,
      );
      if (!rows[0]?.locked) return undefined;
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(hashtext('privacy.kek-epochs'), hashtext(current_schema()))`.execute(
          connection,
        );
      }
    });
  }
}
