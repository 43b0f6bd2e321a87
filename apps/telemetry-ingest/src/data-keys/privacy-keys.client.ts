import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { DomainError, INTERNAL_TOKEN_HEADER } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG } from '@meterkeep/service-runtime';
import type { MeterKeys } from './meter-keys';

const base64Key = z
  .string()
  .transform((value) => Buffer.from(value, 'base64'))
  .refine((key) => key.length === 32, 'a 32-byte key');

const MeterKeysAnswer = z.object({
  occupancies: z.array(
    z.object({
      occupancyId: z.string(),
      keyId: z.string(),
      from: z.iso.datetime({ offset: true }),
      to: z.iso.datetime({ offset: true }).nullable().optional(),
      key: base64Key.optional(),
      destroyed: z.boolean(),
    }),
  ),
  meterKey: z.object({ keyId: z.string(), key: base64Key }),
});

const TIMEOUT_MS = 3_000;

/** The privacy service's key vault, over its internal route: never logged, never cached on disk. */
@Injectable()
export class PrivacyKeysClient {
  constructor(@Inject(CONFIG) private readonly config: TelemetryIngestConfig) {}

  async meterKeys(tenantId: string, meterId: string): Promise<MeterKeys> {
    const url = new URL(
      `/internal/v1/tenants/${encodeURIComponent(tenantId)}/meters/${encodeURIComponent(meterId)}/data-keys`,
      this.config.PRIVACY_INTERNAL_URL,
    );
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { [INTERNAL_TOKEN_HEADER]: this.config.INTERNAL_API_TOKEN },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      throw vaultUnavailable();
    }
    if (!response.ok) throw vaultUnavailable();
    const answer = MeterKeysAnswer.safeParse(await response.json().catch(() => undefined));
    if (!answer.success) throw vaultUnavailable();
    return {
      meterKey: answer.data.meterKey,
      occupancies: answer.data.occupancies.map((o) => ({
        occupancyId: o.occupancyId,
        keyId: o.keyId,
        from: Date.parse(o.from),
        to: o.to ? Date.parse(o.to) : undefined,
        key: o.destroyed ? undefined : o.key,
      })),
    };
  }
}

function vaultUnavailable(): DomainError {
  return new DomainError(
    'unavailable',
    'KEY_VAULT_UNAVAILABLE',
    'Data keys are unavailable; retry later',
    undefined,
    5,
  );
}
