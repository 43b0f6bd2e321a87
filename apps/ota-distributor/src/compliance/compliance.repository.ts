import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor } from '../core/database';
import { ACTIVE_STATES } from '../executions/execution-states';

export interface ComplianceRow {
  class_id: string;
  latest_manifest_id: string | null;
  latest_sequence: string | null;
  total: string;
  on_latest: string;
  update_in_progress: string;
  new_update_available: string;
}

/**
 * One aggregate over the tenant's ACTIVE meters: what each runs is the highest sequence its receipts
 * prove (installed_firmware), compared with the highest-sequence live manifest of its class. A meter
 * on the latest counts there even with an execution under way; otherwise an unfinished execution counts
 * it in progress. One scan of the tenant's devices, each looked up by key: fine for an operator's read.
 */
@Injectable()
export class ComplianceRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async byClass(tenantId: string, classId: string | undefined, now: Date): Promise<ComplianceRow[]> {
    const classFilter = classId === undefined ? sql`` : sql`and d.class_id = ${classId}`;
    const { rows } = await sql<ComplianceRow>`
      with latest as (
        select distinct on (m.class_id) m.class_id, m.manifest_id, m.sequence_number
        from manifests m
        where m.tenant_id = ${tenantId} and m.state = 'accepted'
          and (m.expires_at is null or m.expires_at > ${now})
        order by m.class_id, m.sequence_number desc
      ),
      fleet as (
        select d.class_id,
          (select max(f.sequence_number) from installed_firmware f
            where f.tenant_id = d.tenant_id and f.device_id = d.device_id) as running,
          exists (select 1 from executions e where e.tenant_id = d.tenant_id and e.device_id = d.device_id
            and e.state in (${sql.join(ACTIVE_STATES)})) as busy
        from devices d
        where d.tenant_id = ${tenantId} and d.state = 'ACTIVE' and d.class_id is not null ${classFilter}
      ),
      judged as (
        select fleet.class_id, fleet.busy, l.manifest_id, l.sequence_number,
          (l.manifest_id is null or coalesce(fleet.running >= l.sequence_number, false)) as on_latest
        from fleet left join latest l on l.class_id = fleet.class_id
      )
      select class_id, manifest_id as latest_manifest_id, sequence_number as latest_sequence,
        count(*) as total,
        count(*) filter (where on_latest) as on_latest,
        count(*) filter (where not on_latest and busy) as update_in_progress,
        count(*) filter (where not on_latest and not busy) as new_update_available
      from judged group by class_id, manifest_id, sequence_number order by class_id`.execute(this.db);
    return rows;
  }
}
