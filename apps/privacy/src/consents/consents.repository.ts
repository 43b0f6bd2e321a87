import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { ConsentRow, Executor, OccupancyRow } from '../core/database';
import type { ConsentPolicy, LedgerEntry, OccupancyTerms } from './policy';

export type NewConsent = ConsentRow;

/** The consent ledger: insert and read, never update (the table refuses it). Every read names the tenant. */
@Injectable()
export class ConsentsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** The occupancy, locked until the transaction ends: one change at a time per occupancy. */
  lockOccupancy(trx: Executor, tenantId: string, occupancyId: string): Promise<OccupancyRow | undefined> {
    return trx
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId)
      .forUpdate()
      .executeTakeFirst();
  }

  findOccupancy(tenantId: string, occupancyId: string): Promise<OccupancyRow | undefined> {
    return this.db
      .selectFrom('occupancies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirst();
  }

  /** The occupancy's entries recorded up to `asOf` (all by default), oldest first. */
  list(
    executor: Executor | undefined,
    tenantId: string,
    occupancyId: string,
    asOf?: Date,
  ): Promise<ConsentRow[]> {
    let query = (executor ?? this.db)
      .selectFrom('consents')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('occupancy_id', '=', occupancyId);
    if (asOf) query = query.where('recorded_at', '<=', asOf);
    return query.orderBy('recorded_at').orderBy('version').execute();
  }

  insert(trx: Executor, consent: NewConsent): Promise<ConsentRow> {
    return trx.insertInto('consents').values(consent).returningAll().executeTakeFirstOrThrow();
  }
}

/** With `policies` (ConsentPolicies.versions), each entry carries the policy it was decided under. */
export const toLedgerEntry = (
  row: ConsentRow,
  policies?: ReadonlyMap<string, ConsentPolicy>,
): LedgerEntry => ({
  occupancyId: row.occupancy_id,
  purpose: row.purpose,
  recipient: row.recipient,
  granularity: row.granularity as LedgerEntry['granularity'],
  basis: row.basis as LedgerEntry['basis'],
  status: row.status as LedgerEntry['status'],
  effectiveFrom: row.effective_from,
  effectiveTo: row.effective_to,
  historicalFrom: row.historical_from,
  version: row.version,
  ...(policies?.has(row.policy) && { decidedUnder: policies.get(row.policy) }),
});

export const toOccupancyTerms = (row: OccupancyRow): OccupancyTerms => ({
  occupancyId: row.occupancy_id,
  from: row.valid_from,
  to: row.valid_to,
  consumerClass: row.consumer_class === 'microbusiness' ? 'microbusiness' : 'domestic',
  contractDate: row.contract_date,
});
