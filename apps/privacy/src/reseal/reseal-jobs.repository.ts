import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { DataKeyRow, Executor, OccupancyRow, ResealJobRow } from '../core/database';

export interface NewResealJob {
  tenantId: string;
  meterId: string;
  occupancyId: string;
  reason: ResealJobRow['reason'];
  from: Date;
  notBefore: Date;
}

export interface ResealOutcome {
  recordsScanned: number;
  recordsResealed: number;
  itemsResealed: number;
}

/** Re-seal jobs: written with the change of tenancy that needs them, taken by one replica at a time. */
@Injectable()
export class ResealJobsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  get database(): Executor {
    return this.db;
  }

  async enqueue(trx: Executor, job: NewResealJob): Promise<string> {
    const jobId = `rsj-${randomUUID()}`;
    await trx
      .insertInto('reseal_jobs')
      .values({
        job_id: jobId,
        tenant_id: job.tenantId,
        meter_id: job.meterId,
        occupancy_id: job.occupancyId,
        reason: job.reason,
        reseal_from: job.from,
        not_before: job.notBefore,
      })
      .execute();
    return jobId;
  }

  /**
   * The next due job, locked until the transaction ends; replicas skip one another's. Back-dated
   * move-outs first: until theirs runs, the next occupant's readings sit under the previous occupant's
   * key, which that occupant's consumers hold; a back-dated move-in only moves readings off the meter's
   * own key, which nobody's consumer holds, and a fleet's opening can queue thousands of those.
   */
  lockNextDue(trx: Executor, now: Date): Promise<ResealJobRow | undefined> {
    return trx
      .selectFrom('reseal_jobs')
      .selectAll()
      .where('state', '=', 'pending')
      .where('not_before', '<=', now)
      .orderBy(sql`reason = 'backdated-close'`, 'desc')
      .orderBy('not_before')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  async complete(trx: Executor, jobId: string, outcome: ResealOutcome, at: Date): Promise<void> {
    await trx
      .updateTable('reseal_jobs')
      .set({
        state: 'done',
        completed_at: at,
        last_error: null,
        records_scanned: outcome.recordsScanned,
        records_resealed: outcome.recordsResealed,
        items_resealed: outcome.itemsResealed,
      })
      .where('job_id', '=', jobId)
      .execute();
  }

  async failed(jobId: string, attempts: number, error: string, retryAt: Date): Promise<void> {
    await this.db
      .updateTable('reseal_jobs')
      .set({ attempts, last_error: error.slice(0, 512), not_before: retryAt })
      .where('job_id', '=', jobId)
      .execute();
  }

  forMeter(tenantId: string, meterId: string): Promise<ResealJobRow[]> {
    return this.db
      .selectFrom('reseal_jobs')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .orderBy('created_at')
      .execute();
  }

  /** Every data key of the meter (occupancies', the meter's own, destroyed ones with no key). */
  keysOfMeter(tenantId: string, meterId: string): Promise<DataKeyRow[]> {
    return this.db
      .selectFrom('data_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .execute();
  }

  /** The meter's occupancies in start order (as they stand now: the job reads them when it runs). */
  occupanciesOfMeter(tenantId: string, meterId: string): Promise<OccupancyRow[]> {
    return this.db
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('meter_id', '=', meterId)
      .orderBy('valid_from')
      .execute();
  }
}
