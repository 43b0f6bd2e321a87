import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DataKeyRow, Executor } from '../core/database';

export interface NewDataKey {
  keyId: string;
  tenantId: string;
  meterId: string;
  occupancyId: string | null;
  wrappedKey: Buffer;
  /** The KEK epoch that wrapped it. */
  kekEpoch: number;
  /** A retention key (Art. 17(3)(b)): its purpose and the date it is destroyed automatically. */
  retention?: { purpose: string; retainUntil: Date };
}

/** An occupancy's period with its data key, as ingest needs them. */
export interface OccupancyKeyRow {
  occupancy_id: string;
  key_id: string;
  valid_from: Date;
  valid_to: Date | null;
  wrapped_key: Buffer | null;
  kek_epoch: number;
  destroyed_at: Date | null;
}

/** The data-key vault's rows: keys stored wrapped, wiped when destroyed. Every read names the tenant. */
@Injectable()
export class DataKeysRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async insert(executor: Executor, key: NewDataKey): Promise<DataKeyRow> {
    return executor.insertInto('data_keys').values(toRow(key)).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Inserts the meter's own key unless it has a live one already (a concurrent request may win); the key
   * is made in the transaction, so it is wrapped under the epoch current when it commits.
   */
  async insertMeterKeyIfMissing(make: (trx: Executor) => Promise<NewDataKey>): Promise<void> {
    await this.db.transaction().execute(async (trx) =>
      trx
        .insertInto('data_keys')
        .values(toRow(await make(trx)))
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'meter_id'])
            .where('occupancy_id', 'is', null)
            .where('destroyed_at', 'is', null)
            .doNothing(),
        )
        .execute(),
    );
  }

  findLiveMeterKey(tenantId: string, meterId: string): Promise<DataKeyRow | undefined> {
    return this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .where('occupancy_id', 'is', null)
      .where('destroyed_at', 'is', null)
      .executeTakeFirst();
  }

  find(tenantId: string, keyId: string): Promise<DataKeyRow | undefined> {
    return this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
  }

  /** The tenant's key, locked until the transaction ends. */
  lock(trx: Executor, tenantId: string, keyId: string): Promise<DataKeyRow | undefined> {
    return trx
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .forUpdate()
      .executeTakeFirst();
  }

  /**
   * Wipes the wrapped key, keeping only a commitment to its bytes: what survives elsewhere (backups)
   * opens only while its KEK epoch lives.
   */
  destroy(trx: Executor, keyId: string, at: Date): Promise<DataKeyRow> {
    return trx
      .updateTable('data_keys')
      .set({ wrapped_key: null, destroyed_at: at, wrapped_key_sha256: sql`sha256(wrapped_key)` })
      .where('key_id', '=', keyId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The occupancy's retention key for a purpose, if it has one. */
  findRetentionKey(
    executor: Executor,
    occupancyId: string,
    purpose: string,
  ): Promise<DataKeyRow | undefined> {
    return executor
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
  }

  /**
   * Live retention keys whose date has come, locked for the caller's transaction; rows another replica's
   * batch holds are skipped, so concurrent expiry jobs take disjoint batches.
   */
  lockRetentionKeysDue(trx: Executor, now: Date, limit: number): Promise<DataKeyRow[]> {
    return trx
      .selectFrom('data_keys')
      .selectAll()
      .where('purpose', 'is not', null)
      .where('destroyed_at', 'is', null)
      .where('retain_until', '<=', now)
      .orderBy('retain_until')
      .orderBy('key_id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  }

  /** When the earliest of these keys of a meter was made (destroyed or not); null when none is found. */
  async earliestCreated(
    executor: Executor,
    tenantId: string,
    meterId: string,
    keyIds: readonly string[],
  ): Promise<Date | null> {
    if (keyIds.length === 0) return null;
    const row = await executor
      .selectFrom('data_keys')
      .select((eb) => eb.fn.min('created_at').as('earliest'))
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .where('key_id', 'in', [...keyIds])
      .executeTakeFirst();
    return row?.earliest ? new Date(row.earliest) : null;
  }

  /** Every live key of a meter (occupancy, retention and meter keys): the verifier tries them all. */
  liveKeysOfMeter(executor: Executor, tenantId: string, meterId: string): Promise<DataKeyRow[]> {
    return executor
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .where('wrapped_key', 'is not', null)
      .execute();
  }

  /** The meter's occupancies with their keys, in time order. */
  occupancyKeysForMeter(tenantId: string, meterId: string): Promise<OccupancyKeyRow[]> {
    return this.db
      .selectFrom('occupancies as o')
      .innerJoin('data_keys as k', 'k.key_id', 'o.key_id')
      .select([
        'o.occupancy_id',
        'o.key_id',
        'o.valid_from',
        'o.valid_to',
        'k.wrapped_key',
        'k.kek_epoch',
        'k.destroyed_at',
      ])
      .where('o.tenant_id', '=', tenantId)
      .where('o.meter_id', '=', meterId)
      .orderBy('o.valid_from')
      .execute();
  }
}

function toRow(key: NewDataKey) {
  return {
    key_id: key.keyId,
    tenant_id: key.tenantId,
    meter_id: key.meterId,
    occupancy_id: key.occupancyId,
    wrapped_key: key.wrappedKey,
    kek_epoch: key.kekEpoch,
    ...(key.retention && { purpose: key.retention.purpose, retain_until: key.retention.retainUntil }),
  };
}
