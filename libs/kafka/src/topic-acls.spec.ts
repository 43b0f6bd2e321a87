import { ALL_TOPICS, ENROLLMENT_DEVICES, ENROLLMENT_TRUST_ANCHORS } from '@meterkeep/contracts';
import { describe, expect, it } from 'vitest';
import { serviceAclGrants } from './topic-acls';

const rules = (service: Parameters<typeof serviceAclGrants>[0]) =>
  serviceAclGrants(service).map((g) => `${g.resource}:${g.pattern}:${g.name}:${g.operation}`);

describe('serviceAclGrants', () => {
  it('lets only enrollment write the enrollment topics; bootstrap only reads them', () => {
    for (const topic of [ENROLLMENT_DEVICES.name, ENROLLMENT_TRUST_ANCHORS.name]) {
      expect(rules('enrollment')).toContain(`topic:literal:${topic}:WRITE`);
      expect(rules('bootstrap')).toContain(`topic:literal:${topic}:READ`);
      for (const other of ['bootstrap', 'telemetry-ingest', 'privacy', 'ota-distributor'] as const)
        expect(rules(other)).not.toContain(`topic:literal:${topic}:WRITE`);
    }
    // A consumer dead-letters what it cannot read.
    expect(rules('bootstrap')).toContain(`topic:literal:${ENROLLMENT_DEVICES.name}.dlq:WRITE`);
  });

  it('grants writes exactly per the contracts, and never CREATE or anything on the cluster', () => {
    for (const service of [
      'enrollment',
      'bootstrap',
      'telemetry-ingest',
      'privacy',
      'ota-distributor',
    ] as const) {
      const writes = serviceAclGrants(service)
        .filter((g) => g.resource === 'topic' && g.operation === 'WRITE' && !g.name.endsWith('.dlq'))
        .map((g) => g.name)
        .sort();
      expect(writes).toEqual(
        ALL_TOPICS.filter((t) => t.producers.includes(service))
          .map((t) => t.name)
          .sort(),
      );
      expect(serviceAclGrants(service).map((g) => g.operation)).not.toContain('CREATE');
    }
  });

  it("limits groups and transactional ids to names that start with the service's", () => {
    expect(rules('telemetry-ingest')).toEqual(
      expect.arrayContaining([
        'group:prefixed:telemetry-ingest:READ',
        'transactional-id:prefixed:telemetry-ingest:WRITE',
      ]),
    );
    expect(
      serviceAclGrants('telemetry-ingest')
        .filter((g) => g.pattern === 'prefixed')
        .map((g) => g.name),
    ).toEqual(Array(5).fill('telemetry-ingest'));
  });
});
