import { Module } from '@nestjs/common';
import { OccupanciesModule } from '../occupancies/occupancies.module';
import { RetentionModule } from '../retention/retention.module';
import { DecommissionOccupancyUseCase } from './decommission-occupancy.use-case';
import { DecommissionPoliciesRepository } from './decommission-policies.repository';
import { DecommissionPolicyController } from './decommission-policy.controller';
import { SetDecommissionPolicyUseCase } from './decommission-policy.use-case';

/**
 * Privacy's step of decommissioning a meter (the erasure use case and saga come from ErasuresModule) and
 * the tenant's policy for it.
 */
@Module({
  imports: [OccupanciesModule, RetentionModule],
  controllers: [DecommissionPolicyController],
  providers: [DecommissionPoliciesRepository, DecommissionOccupancyUseCase, SetDecommissionPolicyUseCase],
  exports: [DecommissionOccupancyUseCase, DecommissionPoliciesRepository],
})
export class DecommissionsModule {}
