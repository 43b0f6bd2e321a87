import { Module } from '@nestjs/common';
import { ConsentsModule } from '../consents/consents.module';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { ReadingRangesRepository } from '../exports/reading-ranges.repository';
import { KeyEpochsModule } from '../key-epochs/key-epochs.module';
import { ReadingsConsumer } from './readings.consumer';
import { ReleaseGate } from './release-gate';
import { ReleaseKeys } from './release-keys';
import { ReleaseWindowsUseCase } from './release-windows.use-case';
import { NetworkReleaseRepository } from './network-release.repository';
import { NetworkReleaseUseCase } from './network-release.use-case';
import { ReleaseKeysModule } from './release-keys.module';
import { StageReadingsUseCase } from './stage-readings.use-case';

/**
 * The release gate (spec §4.2): the only way readings leave the platform in usable form. The consumer
 * stages opened readings; the gate releases closed windows at the granularity the ledger permits.
 */
@Module({
  imports: [ConsentsModule, DataKeysModule, KeyEpochsModule, ReleaseKeysModule],
  controllers: [ReadingsConsumer],
  providers: [
    ReleaseKeys,
    ReadingRangesRepository,
    StageReadingsUseCase,
    ReleaseWindowsUseCase,
    NetworkReleaseRepository,
    NetworkReleaseUseCase,
    ReleaseGate,
  ],
  exports: [ReleaseGate],
})
export class ReleaseModule {}
