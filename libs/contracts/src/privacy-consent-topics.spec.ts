// privacy.consents.v1 and privacy.consent-state.v1 carry ids, purposes and granularities, never the
// person behind a meter (spec §4.1, §4.10). Read from the committed JSON Schema as well as the zod schema.
import { describe, expect, it } from 'vitest';
import { PRIVACY_CONSENT_STATE, PRIVACY_CONSENTS } from './events/privacy-consent.event';
import { TELEMETRY_RELEASED } from './events/telemetry-released.event';
import { TELEMETRY_RELEASED_AGGREGATES } from './events/telemetry-released-aggregate.event';
import { PRIVACY_ERASURE_REQUESTS } from './events/privacy-erasure-request.event';
import { PRIVACY_ERASURES } from './events/privacy-erasure.event';
import { PRIVACY_RELEASE_RECALLS } from './events/privacy-release-recall.event';
import { topicJsonSchema } from './schema-snapshot';
import { ALL_TOPICS } from './topics';
import { type TopicContract, validateEvent } from './topic-contract';

/** Names that would carry a data subject or their evidence. The occupancy id is the one allowed link. */
const PERSONAL =
  /subject|person|customer|occupier|resident|tenancy|household|address|email|phone|name|location|latitude|longitude|evidence|actor/i;

function objects(schema: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(schema)) for (const item of schema) objects(item, out);
  else if (schema !== null && typeof schema === 'object') {
    const node = schema as Record<string, unknown>;
    if (node.properties !== undefined) out.push(node);
    for (const value of Object.values(node)) objects(value, out);
  }
  return out;
}

// telemetry.released.v1 (the release gate's output), its recalls, the erasure saga's fan-out and its
// certificate announcements (ids only) are held to the same rule.
const topics = [
  PRIVACY_CONSENTS,
  PRIVACY_CONSENT_STATE,
  TELEMETRY_RELEASED,
  TELEMETRY_RELEASED_AGGREGATES,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_RELEASE_RECALLS,
] as TopicContract[];

describe('consent topics carry no subject or person fields', () => {
  it('are declared with the platform topics (created by the local stack and the admin job)', () => {
    expect(ALL_TOPICS).toEqual(expect.arrayContaining(topics));
    expect(PRIVACY_CONSENT_STATE.config['cleanup.policy']).toBe('compact');
    expect(PRIVACY_CONSENTS.producers).toEqual(['privacy']);
  });

  it.each(topics.map((t) => [t.name, t] as const))(
    '%s: no field names a person, and no other field is allowed',
    (_, topic) => {
      const nodes = objects(topicJsonSchema(topic));
      expect(nodes.length).toBeGreaterThan(0);
      for (const node of nodes) {
        expect(Object.keys(node.properties as object).filter((name) => PERSONAL.test(name))).toEqual([]);
        expect(node.additionalProperties).toBe(false);
      }
    },
  );

  it.each(topics.map((t) => [t.name, t] as const))(
    '%s: refuses an event carrying a subject reference',
    (_, topic) => {
      for (const extra of [
        { subjectRef: 'hh-42' },
        { evidenceRef: 'web:x/v1/sha256:00' },
        { customerName: 'A' },
      ])
        expect(() => validateEvent(topic, { ...topic.example, ...extra })).toThrow(/Unrecognized key/);
    },
  );

  it('a recall names releases and windows, never a value, and lands where the recalled releases are', () => {
    const example = PRIVACY_RELEASE_RECALLS.example;
    const [release] = example.releases;
    for (const extra of [{ quantity: 12.5 }, { totals: [] }, { subjectRef: 'hh-42' }])
      expect(() =>
        validateEvent(PRIVACY_RELEASE_RECALLS, { ...example, releases: [{ ...release, ...extra }] }),
      ).toThrow(/Unrecognized key/);
    expect(() => validateEvent(PRIVACY_RELEASE_RECALLS, { ...example, releases: [] })).toThrow(/releases/);
    expect(PRIVACY_RELEASE_RECALLS.key(example)).toBe(
      TELEMETRY_RELEASED.key({ ...TELEMETRY_RELEASED.example, occupancyId: example.occupancyId }),
    );
  });

  it('keys entries by tenant and occupancy, states by occupancy × purpose × recipient', () => {
    expect(PRIVACY_CONSENTS.key(PRIVACY_CONSENTS.example)).toBe('utility-north/occ-7f3e');
    expect(PRIVACY_CONSENT_STATE.key(PRIVACY_CONSENT_STATE.example)).toBe(
      'utility-north/occ-7f3e/supplier-insights/supplier',
    );
  });

  it('refuses unknown granularities and malformed recipients', () => {
    expect(() =>
      validateEvent(PRIVACY_CONSENTS, { ...PRIVACY_CONSENTS.example, granularity: 'hourly' }),
    ).toThrow(/granularity/);
    expect(() =>
      validateEvent(PRIVACY_CONSENTS, { ...PRIVACY_CONSENTS.example, recipient: 'Jane Doe' }),
    ).toThrow(/recipient/);
  });
});
