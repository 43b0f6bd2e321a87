import { Module } from '@nestjs/common';
import { OccupanciesRepository } from '../occupancies/occupancies.repository';
import { DecommissionOccupancyUseCase } from './decommission-occupancy.use-case';
import { DecommissionPoliciesRepository } from './decommission-policies.repository';

/** Privacy's step of decommissioning a meter (the erasure use case and saga come from ErasuresModule). */
@Module({
  providers: [OccupanciesRepository, DecommissionPoliciesRepository, DecommissionOccupancyUseCase],
  exports: [DecommissionOccupancyUseCase, DecommissionPoliciesRepository],
})
export class DecommissionsModule {}
