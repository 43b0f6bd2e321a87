import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DecommissionConfirmationRow, DecommissionRow, Executor } from '../core/database';
import type { StepConfirmation } from './decommission-record';

const DONE = ['completed', 'not-applicable'] as const;

/** Decommissioning sagas and their steps' confirmations (enrollment's own schema). */
@Injectable()
export class DecommissionsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async insert(
    executor: Executor,
    row: Pick<
      DecommissionRow,
      'decommission_id' | 'tenant_id' | 'endpoint_name' | 'requested_by' | 'requested_at' | 'credential_kind'
    > & { next_attempt_at: Date },
  ): Promise<void> {
    await executor
      .insertInto('decommissions')
      .values({ ...row, state: 'CONFIRMING' })
      .execute();
  }

  /** The meter's saga, tenant-scoped (another tenant's meter answers as if it had none). */
  ofDevice(tenantId: string, endpoint: string): Promise<DecommissionRow | undefined> {
    return this.db
      .selectFrom('decommissions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', '=', endpoint)
      .executeTakeFirst();
  }

  async exists(decommissionId: string, tenantId: string, endpoint: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('decommissions')
      .select('decommission_id')
      .where('decommission_id', '=', decommissionId)
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', '=', endpoint)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The saga locked for this transaction, or undefined when another replica holds it. */
  lock(executor: Executor, decommissionId: string): Promise<DecommissionRow | undefined> {
    return executor
      .selectFrom('decommissions')
      .selectAll()
      .where('decommission_id', '=', decommissionId)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  async due(now: Date, limit = 100): Promise<string[]> {
    const rows = await this.db
      .selectFrom('decommissions')
      .select('decommission_id')
      .where('state', '=', 'CONFIRMING')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.decommission_id);
  }

  async update(
    executor: Executor,
    decommissionId: string,
    changes: Partial<{
      state: DecommissionRow['state'];
      attempt: number;
      next_attempt_at: Date;
      record: string;
      record_digest: string;
      audit_sequence: number;
      recorded_at: Date;
    }>,
  ): Promise<void> {
    await executor
      .updateTable('decommissions')
      .set(changes)
      .where('decommission_id', '=', decommissionId)
      .execute();
  }

  /**
   * A service's confirmation of its step: the latest answer stands, except that a step once done
   * stays done (a late `pending` from an earlier attempt does not undo it). True when it changed.
   */
  async recordConfirmation(row: Omit<DecommissionConfirmationRow, 'facts'> & { facts: string | null }) {
    const result = await this.db
      .insertInto('decommission_confirmations')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['decommission_id', 'service'])
          .doUpdateSet((eb) => ({
            instance: eb.ref('excluded.instance'),
            outcome: eb.ref('excluded.outcome'),
            attempt: eb.ref('excluded.attempt'),
            detail: eb.ref('excluded.detail'),
            facts: eb.ref('excluded.facts'),
            event_id: eb.ref('excluded.event_id'),
            confirmed_at: eb.ref('excluded.confirmed_at'),
          }))
          .where(sql<boolean>`decommission_confirmations.outcome not in ('completed', 'not-applicable')`),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async confirmations(executor: Executor, decommissionId: string): Promise<StepConfirmation[]> {
    const rows = await executor
      .selectFrom('decommission_confirmations')
      .selectAll()
      .where('decommission_id', '=', decommissionId)
      .orderBy('service')
      .execute();
    return rows.map((r) => ({
      service: r.service,
      instance: r.instance,
      outcome: r.outcome,
      attempt: r.attempt,
      detail: r.detail,
      facts: (r.facts ?? null) as StepConfirmation['facts'],
      eventId: r.event_id,
      confirmedAt: r.confirmed_at,
    }));
  }
}

export const isDone = (outcome: string) => (DONE as readonly string[]).includes(outcome);
