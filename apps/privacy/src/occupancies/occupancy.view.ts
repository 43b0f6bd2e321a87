import type { OccupancyRow } from '../core/database';
import type { OccupancyView } from './occupancies.schemas';

export function toOccupancyView(row: OccupancyRow): OccupancyView {
  return {
    occupancyId: row.occupancy_id,
    meterId: row.meter_id,
    subjectRef: row.subject_ref,
    from: row.valid_from.toISOString(),
    to: row.valid_to?.toISOString() ?? null,
    keyId: row.key_id,
    consumerClass: row.consumer_class as OccupancyView['consumerClass'],
    contractDate: row.contract_date?.toISOString().slice(0, 10) ?? null,
  };
}
