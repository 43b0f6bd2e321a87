import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type {
  FirmwareImageUpload,
  FirmwareManifestView,
  OtaCampaignCreate,
  OtaCampaignDeviceView,
  OtaCampaignView,
} from '@meterkeep/contracts';
import { type FirmwareManifest, signManifest } from '@meterkeep/firmware';
import { type Api, waitUntil } from '@meterkeep/testing';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The answer's body, or a throw naming the request when it is not a success. */
export async function must<T>(
  api: Api,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<T> {
  const answer = await api(method, path, body, contentType);
  if (answer.status >= 300)
    throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/**
 * The campaign suites' operators, as the issue's roles have them: the release engineer (operator)
 * uploads, releases, creates and runs campaigns; the tenant's admin approves them (never its creator).
 */
export class CampaignDesk {
  constructor(
    private readonly engineer: Api,
    private readonly admin: Api,
    private readonly release: { vendorId: string; classId: string; image: Buffer; authorityKeyFile: string },
  ) {}

  /** The image uploaded through its presigned part and completed. */
  async upload(): Promise<void> {
    const { image, classId } = this.release;
    const declared = await must<FirmwareImageUpload>(this.engineer, 'POST', '/v1/firmware/images', {
      classId,
      component: 'app',
      size: image.length,
      sha256: sha256(image),
    });
    const [part] = declared.upload!.parts;
    const put = await fetch(part!.url, { method: 'PUT', body: image });
    expect(put.status).toBe(200);
    await must(this.engineer, 'POST', `/v1/firmware/images/${declared.image.imageId}/complete`, {
      parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
    });
  }

  /** A release of the image under `sequenceNumber`, signed with the fleet's update authority. */
  accept(sequenceNumber: number, description: string): Promise<FirmwareManifestView> {
    const { image, vendorId, classId, authorityKeyFile } = this.release;
    const manifest: FirmwareManifest = {
      manifestVersion: 1,
      sequenceNumber,
      vendorId,
      classId,
      components: [
        {
          id: ['app'],
          version: `3.0.${sequenceNumber}`,
          format: 'raw',
          digest: { alg: 'sha-256', value: sha256(image) },
          size: image.length,
        },
      ],
      issuedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
      description: `${description} ${sequenceNumber}`,
    };
    const authority = createPrivateKey(readFileSync(authorityKeyFile));
    const signed = signManifest(manifest, [{ privateKey: authority }]);
    return must<FirmwareManifestView>(
      this.engineer,
      'POST',
      '/v1/firmware/manifests',
      Buffer.from(signed.envelopeBytes).toString('utf8'),
      'application/json; charset=utf-8',
    );
  }

  /** Created by the engineer, approved by the admin, started. */
  async launch(body: OtaCampaignCreate): Promise<string> {
    const { campaignId } = await must<OtaCampaignView>(this.engineer, 'POST', '/v1/campaigns', body);
    await must(this.engineer, 'POST', `/v1/campaigns/${campaignId}/submit`);
    await must(this.admin, 'POST', `/v1/campaigns/${campaignId}/approve`);
    await must(this.engineer, 'POST', `/v1/campaigns/${campaignId}/start`);
    return campaignId;
  }

  view(id: string): Promise<OtaCampaignView> {
    return must<OtaCampaignView>(this.engineer, 'GET', `/v1/campaigns/${id}`);
  }

  /** The campaign's devices matching `filter` (a query string such as `phase=2`), every page. */
  async devices(id: string, filter: string): Promise<OtaCampaignDeviceView[]> {
    const all: OtaCampaignDeviceView[] = [];
    let cursor: string | undefined;
    do {
      const page = await must<{ items: OtaCampaignDeviceView[]; next?: string }>(
        this.engineer,
        'GET',
        `/v1/campaigns/${id}/devices?${filter}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      );
      all.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return all;
  }

  /** The campaign's view once `done` holds (polled), within `timeoutMs`. */
  waitFor(
    id: string,
    done: (c: OtaCampaignView) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<OtaCampaignView> {
    return waitUntil(
      async () => {
        const campaign = await this.view(id);
        return done(campaign) ? campaign : undefined;
      },
      { timeoutMs, intervalMs: 250, description: what },
    );
  }
}
