import { Module } from '@nestjs/common';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { RetentionExpiry } from './retention-expiry';
import { RetentionSchedulesController } from './retention-schedules.controller';
import { RetentionSchedulesRepository } from './retention-schedules.repository';
import { SetRetentionScheduleUseCase } from './set-retention-schedule.use-case';

/** Retention (spec privacy.md §4.8): per-purpose schedules and the expiry job with its certificates. */
@Module({
  imports: [DataKeysModule, ReleaseKeysModule],
  controllers: [RetentionSchedulesController],
  providers: [RetentionSchedulesRepository, SetRetentionScheduleUseCase, RetentionExpiry],
  exports: [RetentionSchedulesRepository],
})
export class RetentionModule {}
