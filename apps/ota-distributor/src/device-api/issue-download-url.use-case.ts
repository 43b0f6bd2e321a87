import { Inject, Injectable } from '@nestjs/common';
import type { OtaDownloadUrlAnswer } from '@meterkeep/contracts';
import type { otaDownloadUrlRequest } from '@meterkeep/contracts';
import type { z } from 'zod';
import { isActive } from '../executions/execution-states';
import { ExecutionsRepository } from '../executions/executions.repository';
import { FirmwareStore } from '../images/firmware-store';
import { imageKeys } from '../images/image-keys';
import { ManifestsRepository } from '../manifests/manifests.repository';
import type { AuthenticatedMeter } from './authenticated-meter';
import { DeltaEligibility } from './delta-eligibility';
import { DEVICE_API_SETTINGS, type DeviceApiSettings } from './directive-key';
import { OtaDeviceErrors } from './ota-device.errors';

/** Requests one URL answers within its re-issue interval before the next is refused (429). */
export const DOWNLOAD_URL_BURST = 5;

/**
 * A presigned GET for exactly one object: the payload the execution's manifest (the delta or its
 * fallback, as chosen at check-in) names for the component, content-addressed by its digest (THREAT.NET.REDIRECT: the key is derived from the
 * manifest, never from the request). A delta only to a meter whose installed image of the component
 * (as it last reported at check-in, or as its last receipt proved) is the delta's precursor
 * (THREAT.UPD.WRONG_PRECURSOR). At most one new URL per execution and component per re-issue interval
 * (OTA_DOWNLOAD_URL_REISSUE_SECONDS, at most half the URL's life): within it the same URL is answered
 * again (a meter resuming with Range asks once per attempt), up to DOWNLOAD_URL_BURST times, then 429.
 * The URL is a bearer secret: it is answered, never logged.
 */
@Injectable()
export class IssueDownloadUrlUseCase {
  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly manifests: ManifestsRepository,
    private readonly deltas: DeltaEligibility,
    private readonly store: FirmwareStore,
    @Inject(DEVICE_API_SETTINGS) private readonly settings: DeviceApiSettings,
  ) {}

  async execute(
    meter: AuthenticatedMeter,
    executionId: string,
    request: z.output<typeof otaDownloadUrlRequest>,
  ): Promise<OtaDownloadUrlAnswer> {
    const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId);
    if (!execution) throw OtaDeviceErrors.executionNotFound();
    if (!isActive(execution.state)) throw OtaDeviceErrors.executionClosed(execution.state);
    const manifest = await this.manifests.find(meter.tenantId, execution.deployment.manifest_id);
    if (!manifest) throw OtaDeviceErrors.executionNotFound();
    const component = manifest.components.find((c) => c.id === request.component);
    if (!component) throw OtaDeviceErrors.componentNotInManifest();
    if (request.delta && !(await this.deltas.onPrecursor(meter, component)))
      throw OtaDeviceErrors.notEligibleForDelta();

    const now = new Date();
    const ttl = this.settings.downloadUrlTtlSeconds;
    const window = Math.min(this.settings.downloadUrlReissueSeconds, Math.floor(ttl / 2));
    const grant = await this.executions.grantDownload(execution.execution_id, component.id, window, now);
    if (grant.requests > DOWNLOAD_URL_BURST) {
      const wait = Math.ceil((grant.issuedAt.getTime() + window * 1000 - now.getTime()) / 1000);
      throw OtaDeviceErrors.downloadRateLimited(Math.max(1, wait));
    }
    const key = imageKeys.verified(meter.tenantId, manifest.class_id, component.digest.value);
    // Signed at the grant's time: within the interval, the very same URL and expiry as before.
    const url = await this.store.presignDownload(key, ttl, grant.issuedAt);
    return {
      url,
      expiresAt: new Date(grant.issuedAt.getTime() + ttl * 1000).toISOString(),
      sha256: component.digest.value,
      size: component.size,
    };
  }
}
