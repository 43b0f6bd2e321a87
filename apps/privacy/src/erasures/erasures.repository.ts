import { Inject, Injectable } from '@nestjs/common';
import { type Updateable, sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type {
  ErasureConfirmationRow,
  ErasureRow,
  ErasuresTable,
  Executor,
  OccupancyRow,
} from '../core/database';

type ErasureChanges = Updateable<ErasuresTable>;

/** Erasure sagas, their confirmations and certificates. Every read names the tenant. */
@Injectable()
export class ErasuresRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  get database(): Executor {
    return this.db;
  }

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

  findByScope(executor: Executor, tenantId: string, subjectRef: string, scopeDigest: string) {
    return executor
      .selectFrom('erasures')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subject_ref', '=', subjectRef)
      .where('scope_digest', '=', scopeDigest)
      .executeTakeFirst();
  }

  async insertIfAbsent(executor: Executor, row: Parameters<typeof insertValues>[0]): Promise<boolean> {
    const inserted = await executor
      .insertInto('erasures')
      .values(insertValues(row))
      .onConflict((oc) => oc.columns(['tenant_id', 'subject_ref', 'scope_digest']).doNothing())
      .returning('erasure_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /** Locks the occupancy as a consent change does: a release pass under way is waited for. */
  async lockOccupancy(trx: Executor, occupancyId: string): Promise<void> {
    await trx
      .selectFrom('occupancies')
      .select('occupancy_id')
      .where('occupancy_id', '=', occupancyId)
      .forUpdate()
      .execute();
  }

  find(tenantId: string, erasureId: string): Promise<ErasureRow | undefined> {
    return this.findIn(this.db, tenantId, erasureId);
  }

  findIn(executor: Executor, tenantId: string, erasureId: string): Promise<ErasureRow | undefined> {
    return executor
      .selectFrom('erasures')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('erasure_id', '=', erasureId)
      .executeTakeFirst();
  }

  /** The saga row locked for one step; undefined when another replica holds it. */
  lockForStep(trx: Executor, erasureId: string): Promise<ErasureRow | undefined> {
    return trx
      .selectFrom('erasures')
      .selectAll()
      .where('erasure_id', '=', erasureId)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  lock(trx: Executor, tenantId: string, erasureId: string): Promise<ErasureRow | undefined> {
    return trx
      .selectFrom('erasures')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('erasure_id', '=', erasureId)
      .forUpdate()
      .executeTakeFirst();
  }

  async update(trx: Executor, erasureId: string, changes: ErasureChanges) {
    await trx
      .updateTable('erasures')
      .set({ ...changes, updated_at: new Date() })
      .where('erasure_id', '=', erasureId)
      .execute();
  }

  /** Sagas to (re)advance: not finished, and due. */
  async due(now: Date, limit = 100): Promise<string[]> {
    const rows = await this.db
      .selectFrom('erasures')
      .select('erasure_id')
      .where('state', 'not in', ['CERTIFIED', 'FAILED'])
      .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
      .orderBy('requested_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.erasure_id);
  }

  /** A confirmation from one replica of a service; a repeat (same replica) keeps the first unless it failed. */
  async recordConfirmation(row: ErasureConfirmationRow): Promise<boolean> {
    const result = await this.db
      .insertInto('erasure_confirmations')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['erasure_id', 'service', 'instance'])
          .doUpdateSet({
            outcome: (eb) => eb.ref('excluded.outcome'),
            detail: (eb) => eb.ref('excluded.detail'),
            event_id: (eb) => eb.ref('excluded.event_id'),
            confirmed_at: (eb) => eb.ref('excluded.confirmed_at'),
          })
          .where('erasure_confirmations.outcome', '=', 'failed'),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  confirmations(executor: Executor, erasureId: string): Promise<ErasureConfirmationRow[]> {
    return executor
      .selectFrom('erasure_confirmations')
      .selectAll()
      .where('erasure_id', '=', erasureId)
      .orderBy('confirmed_at')
      .orderBy('service')
      .execute();
  }

  async dropFailedConfirmations(trx: Executor, erasureId: string): Promise<void> {
    await trx
      .deleteFrom('erasure_confirmations')
      .where('erasure_id', '=', erasureId)
      .where('outcome', '=', 'failed')
      .execute();
  }

  async exists(erasureId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('erasures')
      .select('erasure_id')
      .where('erasure_id', '=', erasureId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async insertCertificate(
    trx: Executor,
    row: {
      certificateId: string;
      erasureId: string;
      tenantId: string;
      document: unknown;
      digest: string;
      issuedAt: Date;
    },
  ): Promise<void> {
    await trx
      .insertInto('erasure_certificates')
      .values({
        certificate_id: row.certificateId,
        erasure_id: row.erasureId,
        tenant_id: row.tenantId,
        document: JSON.stringify(row.document),
        digest: row.digest,
        issued_at: row.issuedAt,
      })
      .execute();
  }

  certificate(tenantId: string, erasureId: string) {
    return this.db
      .selectFrom('erasure_certificates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('erasure_id', '=', erasureId)
      .executeTakeFirst();
  }

  async countRows(
    executor: Executor,
    table:
      'consents' | 'occupancies' | 'data_keys' | 'release_keys' | 'release_readings' | 'released_windows',
    occupancyIds: string[],
  ): Promise<number> {
    if (occupancyIds.length === 0) return 0;
    const { count } = await executor
      .selectFrom(table)
      .select(sql<string>`count(*)`.as('count'))
      .where('occupancy_id', 'in', occupancyIds)
      .executeTakeFirstOrThrow();
    return Number(count);
  }
}

function insertValues(row: {
  erasureId: string;
  tenantId: string;
  subjectRef: string;
  scopeDigest: string;
  retentions: unknown;
  occupancyIds: string[];
  actor: string;
  requestedAt: Date;
}) {
  return {
    erasure_id: row.erasureId,
    tenant_id: row.tenantId,
    subject_ref: row.subjectRef,
    scope_digest: row.scopeDigest,
    state: 'REQUESTED' as const,
    retentions: JSON.stringify(row.retentions),
    audit_records: '[]',
    // As requested: the saga's SCOPED step replaces it with the resolved scope.
    scope: JSON.stringify({ occupancyIds: row.occupancyIds }),
    actor: row.actor,
    requested_at: row.requestedAt,
    updated_at: row.requestedAt,
  };
}
