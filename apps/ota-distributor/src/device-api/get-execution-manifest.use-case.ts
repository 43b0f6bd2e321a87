import { Injectable } from '@nestjs/common';
import { MAX_ENVELOPE_BYTES } from '@meterkeep/firmware';
import { isActive } from '../executions/execution-states';
import { ExecutionsRepository } from '../executions/executions.repository';
import { FirmwareStore } from '../images/firmware-store';
import { ManifestsRepository } from '../manifests/manifests.repository';
import type { AuthenticatedMeter } from './authenticated-meter';
import { OtaDeviceErrors } from './ota-device.errors';

/** Envelopes are immutable (content-addressed): a few hundred recent ones stay in memory. */
const CACHE_ENTRIES = 256;

/**
 * The exact signed envelope bytes of the manifest of one of the meter's unfinished executions
 * (THREAT.MFST.EXPOSURE: only to devices with an active execution). Any other id is 404.
 */
@Injectable()
export class GetExecutionManifestUseCase {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly manifests: ManifestsRepository,
    private readonly store: FirmwareStore,
  ) {}

  async execute(meter: AuthenticatedMeter, executionId: string): Promise<Buffer> {
    const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId);
    if (!execution || !isActive(execution.state)) throw OtaDeviceErrors.executionNotFound();
    const manifestId = execution.deployment.manifest_id;
    const cached = this.cache.get(manifestId);
    if (cached) return cached;
    const manifest = await this.manifests.find(meter.tenantId, manifestId);
    if (!manifest) throw OtaDeviceErrors.executionNotFound();
    const bytes = await this.store.read(manifest.object_key, MAX_ENVELOPE_BYTES);
    if (!bytes) throw new Error(`The stored envelope of manifest ${manifestId} exceeds its bound`);
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(manifestId, bytes);
    return bytes;
  }
}
