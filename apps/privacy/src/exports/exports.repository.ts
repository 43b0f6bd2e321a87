import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type {
  ConsentRow,
  Executor,
  ExportRow,
  OccupancyRow,
  ReleaseRecallsTable,
  ReleasedWindowsTable,
} from '../core/database';
import type { Selectable } from 'kysely';

export type ReleasedWindowRow = Selectable<ReleasedWindowsTable>;
export type ReleaseRecallRow = Selectable<ReleaseRecallsTable>;

/** Lease of an export being built: renewed while it runs, taken over once it lapses. */
export const LEASE_MS = 60_000;

/** Export jobs and the subject data they gather (privacy's own tables only). */
@Injectable()
export class ExportsRepository {
  constructor(@Inject(DATABASE) readonly database: Executor) {}

  subjectOccupancies(executor: Executor, tenantId: string, subjectRef: string): Promise<OccupancyRow[]> {
    return executor
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subject_ref', '=', subjectRef)
      .orderBy('valid_from')
      .orderBy('occupancy_id')
      .execute();
  }

  async insert(
    executor: Executor,
    row: {
      exportId: string;
      tenantId: string;
      subjectRef: string;
      occupancyIds: string[];
      linkTtlS: number;
      requestedBy: string;
    },
  ): Promise<ExportRow> {
    return executor
      .insertInto('exports')
      .values({
        export_id: row.exportId,
        tenant_id: row.tenantId,
        subject_ref: row.subjectRef,
        state: 'REQUESTED',
        occupancy_ids: JSON.stringify(row.occupancyIds),
        link_ttl_s: row.linkTtlS,
        requested_by: row.requestedBy,
        object_key: null,
        archive_sha256: null,
        archive_bytes: null,
        wrapped_archive_key: null,
        summary: null,
        ready_at: null,
        expires_at: null,
        expired_at: null,
        error: null,
        lease_owner: null,
        lease_until: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  find(tenantId: string, exportId: string): Promise<ExportRow | undefined> {
    return this.database
      .selectFrom('exports')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('export_id', '=', exportId)
      .executeTakeFirst();
  }

  /** Whether anything is claimable or lapsed: one plain query, so an idle tick holds no transaction. */
  async hasWork(now: Date): Promise<boolean> {
    const row = await this.database
      .selectFrom('exports')
      .select('export_id')
      .where((eb) =>
        eb.or([
          eb.and([
            eb('state', 'in', ['REQUESTED', 'RUNNING']),
            eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]),
          ]),
          eb.and([eb('state', '=', 'READY'), eb('expires_at', '<=', now)]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Claims one export to build: REQUESTED, or RUNNING under a lapsed lease (its replica died). The row
   * is locked with SKIP LOCKED while claimed, so two replicas never take the same one.
   */
  async claim(owner: string, now: Date): Promise<ExportRow | undefined> {
    return this.database.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('exports')
        .selectAll()
        .where('state', 'in', ['REQUESTED', 'RUNNING'])
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .orderBy('requested_at')
        .limit(1)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!row) return undefined;
      return trx
        .updateTable('exports')
        .set({
          state: 'RUNNING',
          attempts: sql<number>`attempts + 1`,
          lease_owner: owner,
          lease_until: new Date(now.getTime() + LEASE_MS),
        })
        .where('export_id', '=', row.export_id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  /** Extends the lease; false once another replica took the export over. */
  async renew(exportId: string, owner: string, now: Date): Promise<boolean> {
    const result = await this.database
      .updateTable('exports')
      .set({ lease_until: new Date(now.getTime() + LEASE_MS) })
      .where('export_id', '=', exportId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'RUNNING')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The export as this owner holds it, locked: only the lease holder finishes it. */
  held(trx: Executor, exportId: string, owner: string): Promise<ExportRow | undefined> {
    return trx
      .selectFrom('exports')
      .selectAll()
      .where('export_id', '=', exportId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'RUNNING')
      .forUpdate()
      .executeTakeFirst();
  }

  async ready(
    trx: Executor,
    exportId: string,
    done: {
      objectKey: string;
      archiveSha256: string;
      archiveBytes: number;
      wrappedKey: Buffer;
      kekEpoch: number;
      summary: Record<string, unknown>;
      readyAt: Date;
      expiresAt: Date;
    },
  ): Promise<void> {
    await trx
      .updateTable('exports')
      .set({
        state: 'READY',
        object_key: done.objectKey,
        archive_sha256: done.archiveSha256,
        archive_bytes: done.archiveBytes,
        wrapped_archive_key: done.wrappedKey,
        archive_key_epoch: done.kekEpoch,
        summary: JSON.stringify(done.summary),
        ready_at: done.readyAt,
        expires_at: done.expiresAt,
        lease_owner: null,
        lease_until: null,
        error: null,
      })
      .where('export_id', '=', exportId)
      .execute();
  }

  async failed(trx: Executor, exportId: string, error: string): Promise<void> {
    await trx
      .updateTable('exports')
      .set({ state: 'FAILED', error, lease_owner: null, lease_until: null })
      .where('export_id', '=', exportId)
      .execute();
  }

  /** Releases the lease after an attempt that may succeed later (the next tick retries it). */
  async release(exportId: string, owner: string, error: string): Promise<void> {
    await this.database
      .updateTable('exports')
      .set({ lease_until: null, lease_owner: null, error })
      .where('export_id', '=', exportId)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** READY exports whose link has lapsed, locked (SKIP LOCKED): the expiry job deletes their archives. */
  lapsed(trx: Executor, now: Date, limit = 20): Promise<ExportRow[]> {
    return trx
      .selectFrom('exports')
      .selectAll()
      .where('state', '=', 'READY')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  }

  async expired(trx: Executor, exportId: string, at: Date): Promise<void> {
    await trx
      .updateTable('exports')
      .set({ state: 'EXPIRED', wrapped_archive_key: null, expired_at: at })
      .where('export_id', '=', exportId)
      .execute();
  }

  consents(tenantId: string, occupancyIds: readonly string[]): Promise<ConsentRow[]> {
    if (occupancyIds.length === 0) return Promise.resolve([]);
    return this.database
      .selectFrom('consents')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', 'in', occupancyIds)
      .orderBy('recorded_at')
      .orderBy('consent_id')
      .execute();
  }

  /** What the release gate sent out of these occupancies (released_windows is keyed by occupancy). */
  releases(occupancyIds: readonly string[]): Promise<ReleasedWindowRow[]> {
    if (occupancyIds.length === 0) return Promise.resolve([]);
    return this.database
      .selectFrom('released_windows')
      .selectAll()
      .where('occupancy_id', 'in', occupancyIds)
      .orderBy('released_at')
      .orderBy('window_start')
      .execute();
  }

  /** Recalls of these occupancies' releases (a back-dated move-out), by release id. */
  recallsOf(occupancyIds: readonly string[]): Promise<ReleaseRecallRow[]> {
    if (occupancyIds.length === 0) return Promise.resolve([]);
    return this.database
      .selectFrom('release_recalls')
      .selectAll()
      .where('occupancy_id', 'in', occupancyIds)
      .execute();
  }

  /**
   * Values released of another occupancy on these occupancies' meters and recalled because they held
   * readings a back-dated move-out gave to one of these (by the readings' times, as readings are), with
   * the release each recalled.
   */
  async recalledFromOthers(
    tenantId: string,
    occupancies: readonly OccupancyRow[],
  ): Promise<(ReleaseRecallRow & ReleasedWindowRow)[]> {
    if (occupancies.length === 0) return [];
    return this.database
      .selectFrom('release_recalls as c')
      .innerJoin('released_windows as w', 'w.event_id', 'c.release_event_id')
      .selectAll(['c', 'w'])
      .where('c.tenant_id', '=', tenantId)
      .where('c.meter_id', 'in', [...new Set(occupancies.map((o) => o.meter_id))])
      .where(
        'c.occupancy_id',
        'not in',
        occupancies.map((o) => o.occupancy_id),
      )
      .orderBy('w.released_at')
      .orderBy('w.window_start')
      .execute();
  }

  dataKey(tenantId: string, keyId: string) {
    return this.database
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
  }
}
