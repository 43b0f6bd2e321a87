import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { OccupancyErrors } from './occupancies.errors';
import type { OccupancyView } from './occupancies.schemas';
import { OccupanciesRepository } from './occupancies.repository';
import { toOccupancyView } from './occupancy.view';

/** One of the tenant's occupancies; another tenant's answers exactly as one that does not exist. */
@Injectable()
export class GetOccupancyUseCase {
  constructor(private readonly occupancies: OccupanciesRepository) {}

  async execute(caller: Caller, occupancyId: string): Promise<OccupancyView> {
    const occupancy = await this.occupancies.findForTenant(caller.tenantId, occupancyId);
    if (!occupancy) throw OccupancyErrors.notFound();
    return toOccupancyView(occupancy);
  }
}
