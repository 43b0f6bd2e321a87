import { Injectable } from '@nestjs/common';
import type { Executor, ReleaseKeyRow } from '../core/database';
import { ReleaseRepository } from './release.repository';

/**
 * Destroys release keys: a purpose withdrawn, or an occupancy erased, shreds the values released
 * under them inside the platform (spec §4.2, §6.1). The caller holds the occupancy's lock, so no release
 * under way makes a key meanwhile, and records the destruction on the audit chain.
 */
@Injectable()
export class ReleaseKeyShredder {
  constructor(private readonly repository: ReleaseRepository) {}

  /** The occupancy's live release keys that `shred` picks (every one by default), destroyed at `at`. */
  async destroy(
    trx: Executor,
    occupancyId: string,
    at: Date,
    shred: (key: ReleaseKeyRow) => boolean = () => true,
  ): Promise<ReleaseKeyRow[]> {
    const destroyed: ReleaseKeyRow[] = [];
    for (const key of await this.repository.lockLiveReleaseKeys(trx, occupancyId)) {
      if (shred(key)) destroyed.push(await this.repository.destroyReleaseKey(trx, key.key_id, at));
    }
    return destroyed;
  }
}
