// THREAT.MFST.EXPOSURE (spec §4.1, contracts.manifest.no-personal-fields): OTA events describe
// releases and executions, never the people behind a meter. The check reads the committed JSON Schema
// of every ota.* topic, so a field added anywhere in an event (nested too) is caught.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PRIVACY_OCCUPANCIES } from './events/privacy-occupancy.event';
import {
  DOWNLOAD_HTTP_FAILURE,
  OTA_FAILURE_CODES,
  isOtaFailureCode,
  otaFailureCode,
} from './events/ota-firmware-common';
import { OTA_DEVICE_STATUS_V2 } from './events/ota-device-status-v2.event';
import { OTA_CAMPAIGN_EVENT_TYPES, OTA_CAMPAIGNS_V2 } from './events/ota-campaign-v2.event';
import { topicJsonSchema } from './schema-snapshot';
import { ALL_TOPICS } from './topics';
import { defineTopic, eventEnvelope, validateEvent } from './topic-contract';
import type { TopicContract } from './topic-contract';

/**
 * Field names that would carry a data subject, an occupancy, a consent, a reading or a whereabouts
 * (spec §7.1: OTA never reads occupancy, consent or readings).
 */
const PERSONAL =
  /subject|occupan|occupier|resident|person|customer|tenancy|household|consent|reading|consumption|kwh|address|email|phone|location|latitude|longitude/i;

function propertyNames(schema: unknown, out: string[] = []): string[] {
  if (Array.isArray(schema)) {
    for (const item of schema) propertyNames(item, out);
  } else if (schema !== null && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && value !== null && typeof value === 'object')
        out.push(...Object.keys(value as object));
      propertyNames(value, out);
    }
  }
  return out;
}

const personalFields = (topic: TopicContract) =>
  propertyNames(topicJsonSchema(topic)).filter((name) => PERSONAL.test(name));

describe('ota.* topics carry no subject or occupancy fields', () => {
  const otaTopics = ALL_TOPICS.filter((t) => t.name.startsWith('ota.'));

  it('covers the new OTA topics', () => {
    expect(otaTopics.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'ota.firmware.v1',
        'ota.device-status.v2',
        'ota.device-status.v1',
        'ota.campaigns.v2',
      ]),
    );
  });

  it.each(otaTopics.map((t) => [t.name, t] as const))('%s names no personal field', (_, topic) => {
    expect(personalFields(topic)).toEqual([]);
  });

  it('the check sees a subject field where one exists (privacy.occupancies.v1)', () => {
    expect(personalFields(PRIVACY_OCCUPANCIES).length).toBeGreaterThan(0);
  });

  it.each([['occupancyId'], ['consentLevel'], ['readings'], ['subjectRef']])(
    'the check sees %s nested in a campaign-like event',
    (field) => {
      const schema = eventEnvelope.extend({ counts: z.object({ [field]: z.string() }) });
      const leaky = defineTopic<z.infer<typeof schema>>({
        name: 'ota.leaky.v1',
        schema,
        key: (event) => event.tenantId,
        partitions: 1,
        example: { ...OTA_CAMPAIGNS_V2.example, counts: { [field]: 'x' } },
      });
      expect(personalFields(leaky)).toEqual([field]);
    },
  );
});

describe('ota.campaigns.v2', () => {
  const example = OTA_CAMPAIGNS_V2.example;

  it('names every campaign transition of spec §6.7', () => {
    expect([...OTA_CAMPAIGN_EVENT_TYPES].sort()).toEqual(
      [
        'created',
        'submitted',
        'approved',
        'denied',
        'scheduled',
        'started',
        'phase-activated',
        'phase-passed',
        'phase-failed',
        'paused',
        'resumed',
        'halted',
        'cancelling',
        'cancelled',
        'completed',
        'revert-created',
      ].sort(),
    );
  });

  it('requires the fields a type stands on: halted its reason, phase events their phase', () => {
    const { reason: _reason, ...noReason } = example;
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, noReason)).toThrow(/reason/);
    // A halt by the manifest's revocation crossed no rule: its code stands for the reason.
    expect(() =>
      validateEvent(OTA_CAMPAIGNS_V2, { ...noReason, haltCode: 'MANIFEST_REVOKED' }),
    ).not.toThrow();
    // Nor did a shadow run's failure: its outcome stands for the reason.
    const shadow = { outcome: 'failed', twins: 2, succeeded: 1, failed: 1 };
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, { ...noReason, shadow })).not.toThrow();
    const { phase: _phase, ...noPhase } = example;
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, { ...noPhase, type: 'phase-activated' })).toThrow(/phase/);
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, { ...noReason, type: 'cancelling' })).toThrow(/cancelMode/);
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, { ...noReason, type: 'revert-created' })).toThrow(
      /revertCampaignId/,
    );
    expect(
      validateEvent(OTA_CAMPAIGNS_V2, { ...noReason, type: 'approved', actor: 'key_9c1d' }),
    ).toBeTruthy();
  });

  it('refuses an unknown type, negative counts and a device list', () => {
    expect(() => validateEvent(OTA_CAMPAIGNS_V2, { ...example, type: 'phase-advanced' })).toThrow(/type/);
    expect(() =>
      validateEvent(OTA_CAMPAIGNS_V2, { ...example, counts: { ...example.counts, failed: -1 } }),
    ).toThrow(/failed/);
    // Unknown keys are dropped, never passed on: a device list cannot ride along.
    const parsed = validateEvent(OTA_CAMPAIGNS_V2, { ...example, deviceIds: ['MTR-000001'] });
    expect(parsed).not.toHaveProperty('deviceIds');
  });
});

describe('OTA failure-code registry', () => {
  it('accepts every registered code and the DOWNLOAD_HTTP_<status> family, nothing else', () => {
    for (const code of OTA_FAILURE_CODES) expect(isOtaFailureCode(code)).toBe(true);
    for (const code of ['DOWNLOAD_HTTP_404', 'DOWNLOAD_HTTP_503']) {
      expect(isOtaFailureCode(code)).toBe(true);
      expect(otaFailureCode.safeParse(code).success).toBe(true);
    }
    for (const code of ['DOWNLOAD_HTTP_200', 'DOWNLOAD_HTTP_4040', 'download_http_404', 'NO_SUCH_CODE', ''])
      expect(isOtaFailureCode(code), code).toBe(false);
    expect(DOWNLOAD_HTTP_FAILURE.test('DOWNLOAD_HTTP_302')).toBe(false);
  });

  it('ota.device-status.v2 refuses a failure code outside the registry', () => {
    const example = OTA_DEVICE_STATUS_V2.example;
    expect(() => validateEvent(OTA_DEVICE_STATUS_V2, { ...example, failureCode: 'OOPS' })).toThrow(
      /failureCode/,
    );
    expect(
      validateEvent(OTA_DEVICE_STATUS_V2, { ...example, failureCode: 'DOWNLOAD_HTTP_403' }),
    ).toBeTruthy();
  });
});
