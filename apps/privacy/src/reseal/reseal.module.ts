import { Module } from '@nestjs/common';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { ResealJobsRepository } from './reseal-jobs.repository';
import { ResealReadingsUseCase } from './reseal-readings.use-case';
import { ResealWorker } from './reseal-worker';

/**
 * Re-sealing after a back-dated change of tenancy (spec §4.3): the jobs a close or open writes, and the
 * worker that re-seals readings sealed under a key no longer theirs and republishes them.
 */
@Module({
  imports: [DataKeysModule, ReleaseKeysModule],
  providers: [ResealJobsRepository, ResealReadingsUseCase, ResealWorker],
  exports: [ResealJobsRepository, ResealWorker],
})
export class ResealModule {}
