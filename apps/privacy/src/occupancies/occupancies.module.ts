import { Module } from '@nestjs/common';
import { ConsentsModule } from '../consents/consents.module';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { ResealModule } from '../reseal/reseal.module';
import { CloseOccupancyUseCase } from './close-occupancy.use-case';
import { GetOccupancyUseCase } from './get-occupancy.use-case';
import { ListOccupanciesUseCase } from './list-occupancies.use-case';
import { OccupanciesController } from './occupancies.controller';
import { OccupanciesRepository } from './occupancies.repository';
import { OccupancyCloser } from './occupancy-closer';
import { OpenOccupancyUseCase } from './open-occupancy.use-case';

@Module({
  imports: [DataKeysModule, ConsentsModule, ReleaseKeysModule, ResealModule],
  controllers: [OccupanciesController],
  providers: [
    OccupanciesRepository,
    OpenOccupancyUseCase,
    OccupancyCloser,
    CloseOccupancyUseCase,
    GetOccupancyUseCase,
    ListOccupanciesUseCase,
  ],
  // A decommissioning closes an occupancy as the API does (DecommissionsModule).
  exports: [OccupanciesRepository, OccupancyCloser],
})
export class OccupanciesModule {}
