import { Module } from '@nestjs/common';
import { RecallReleases } from './recall-releases';
import { ReleaseKeyShredder } from './release-key-shredder';
import { ReleaseRecallsRepository } from './release-recalls.repository';
import { ReleaseRepository } from './release.repository';

/**
 * The release gate's tables, the shredding of its keys (consent changes, erasure) and the recall of
 * released values (a back-dated move-out).
 */
@Module({
  providers: [ReleaseRepository, ReleaseKeyShredder, ReleaseRecallsRepository, RecallReleases],
  exports: [ReleaseRepository, ReleaseKeyShredder, RecallReleases],
})
export class ReleaseKeysModule {}
