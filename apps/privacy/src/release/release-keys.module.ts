import { Module } from '@nestjs/common';
import { ReleaseKeyShredder } from './release-key-shredder';
import { ReleaseRepository } from './release.repository';

/** The release gate's tables and the shredding of its keys, for consent changes and erasure too. */
@Module({
  providers: [ReleaseRepository, ReleaseKeyShredder],
  exports: [ReleaseRepository, ReleaseKeyShredder],
})
export class ReleaseKeysModule {}
