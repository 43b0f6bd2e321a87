import { Module } from '@nestjs/common';
import { ComplianceController } from './compliance.controller';
import { ComplianceRepository } from './compliance.repository';
import { ReadComplianceUseCase } from './read-compliance.use-case';

@Module({
  controllers: [ComplianceController],
  providers: [ComplianceRepository, ReadComplianceUseCase],
})
export class ComplianceModule {}
