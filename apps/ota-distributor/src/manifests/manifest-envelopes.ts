import { Injectable } from '@nestjs/common';
import { MAX_ENVELOPE_BYTES } from '@meterkeep/firmware';
import { FirmwareStore } from '../images/firmware-store';
import { ManifestErrors } from './manifests.errors';
import { ManifestsRepository } from './manifests.repository';

/** The exact signed bytes of a tenant's manifest, as stored at acceptance. */
@Injectable()
export class ManifestEnvelopes {
  constructor(
    private readonly manifests: ManifestsRepository,
    private readonly store: FirmwareStore,
  ) {}

  async read(tenantId: string, manifestId: string): Promise<Buffer> {
    const row = await this.manifests.find(tenantId, manifestId);
    if (!row) throw ManifestErrors.notFound();
    const bytes = await this.store.read(row.object_key, MAX_ENVELOPE_BYTES);
    if (!bytes) throw new Error(`Manifest ${manifestId}'s stored envelope exceeds the bound`);
    return bytes;
  }
}
