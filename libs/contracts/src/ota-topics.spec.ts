// THREAT.MFST.EXPOSURE (spec §4.1, contracts.manifest.no-personal-fields): OTA events describe
// releases and executions, never the people behind a meter. The check reads the committed JSON Schema
// of every ota.* topic, so a field added anywhere in an event (nested too) is caught.
import { describe, expect, it } from 'vitest';
import { PRIVACY_OCCUPANCIES } from './events/privacy-occupancy.event';
import {
  DOWNLOAD_HTTP_FAILURE,
  OTA_FAILURE_CODES,
  isOtaFailureCode,
  otaFailureCode,
} from './events/ota-firmware-common';
import { OTA_DEVICE_STATUS_V2 } from './events/ota-device-status-v2.event';
import { topicJsonSchema } from './schema-snapshot';
import { ALL_TOPICS } from './topics';
import { validateEvent } from './topic-contract';
import type { TopicContract } from './topic-contract';

/** Field names that would carry a data subject, an occupancy or a whereabouts. */
const PERSONAL =
  /subject|occupan|occupier|resident|person|customer|tenancy|household|address|email|phone|location|latitude|longitude/i;

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
      expect.arrayContaining(['ota.firmware.v1', 'ota.device-status.v2', 'ota.device-status.v1']),
    );
  });

  it.each(otaTopics.map((t) => [t.name, t] as const))('%s names no personal field', (_, topic) => {
    expect(personalFields(topic)).toEqual([]);
  });

  it('the check sees a subject field where one exists (privacy.occupancies.v1)', () => {
    expect(personalFields(PRIVACY_OCCUPANCIES).length).toBeGreaterThan(0);
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
