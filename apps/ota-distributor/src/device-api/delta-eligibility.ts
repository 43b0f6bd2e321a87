import { Injectable } from '@nestjs/common';
import { OTA_DELTA_FORMATS, type OtaPayloadFormat } from '@meterkeep/contracts';
import type { ManifestComponentRecord } from '../core/database';
import { DevicesRepository } from '../devices/devices.repository';
import { ManifestsRepository } from '../manifests/manifests.repository';
import type { AuthenticatedMeter } from './authenticated-meter';

/** The digest of the image a component leaves running once installed (a delta's result). */
export const installedDigestOf = (component: ManifestComponentRecord): string =>
  (component.resultDigest ?? component.digest).value;

export const isDelta = (component: ManifestComponentRecord): boolean =>
  OTA_DELTA_FORMATS.has(component.format as OtaPayloadFormat) && component.precursorDigest !== undefined;

/**
 * Whether a meter runs a delta's precursor (THREAT.UPD.WRONG_PRECURSOR): what it last reported at
 * check-in decides; without a report, what its last receipt proved.
 */
@Injectable()
export class DeltaEligibility {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly manifests: ManifestsRepository,
  ) {}

  async onPrecursor(meter: AuthenticatedMeter, component: ManifestComponentRecord): Promise<boolean> {
    if (!isDelta(component)) return false;
    let installed: string | undefined;
    const device = await this.devices.find(meter.tenantId, meter.deviceId);
    if (device?.reported_manifest_digest) {
      const running = await this.manifests.findByDigest(
        undefined,
        meter.tenantId,
        device.reported_manifest_digest,
      );
      const same = running?.components.find((c) => c.id === component.id);
      installed = same && installedDigestOf(same);
    } else {
      installed = (await this.devices.installedComponent(meter.tenantId, meter.deviceId, component.id))
        ?.digest;
    }
    return installed === component.precursorDigest!.value;
  }

  /** Every delta component of the manifest patches what the meter runs. */
  async onAllPrecursors(meter: AuthenticatedMeter, components: ManifestComponentRecord[]): Promise<boolean> {
    for (const component of components.filter(isDelta)) {
      if (!(await this.onPrecursor(meter, component))) return false;
    }
    return true;
  }
}
