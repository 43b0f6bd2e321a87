import { Inject, Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, RetentionSchedulesTable } from '../core/database';

export type RetentionScheduleRow = Selectable<RetentionSchedulesTable>;

/** A tenant's retention period per purpose. */
@Injectable()
export class RetentionSchedulesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  upsert(trx: Executor, row: RetentionScheduleRow): Promise<RetentionScheduleRow> {
    const { tenant_id: _tenant, purpose: _purpose, ...changes } = row;
    return trx
      .insertInto('retention_schedules')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'purpose']).doUpdateSet(changes))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  find(
    tenantId: string,
    purpose: string,
    executor: Executor = this.db,
  ): Promise<RetentionScheduleRow | undefined> {
    return executor
      .selectFrom('retention_schedules')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
  }

  list(tenantId: string): Promise<RetentionScheduleRow[]> {
    return this.db
      .selectFrom('retention_schedules')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('purpose')
      .execute();
  }
}
