import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEVICE_LIFECYCLE,
  type DeviceLifecycleEvent,
  DLQ_HEADERS,
  ENROLLMENT_DEVICES,
  type EnrollmentDeviceEvent,
} from '@meterkeep/contracts';
import { OtaHarness, TopicTap, testKafka, waitUntil } from './ota-test-kit';

// The device projection (enrollment.devices.v1, device.lifecycle.v1) consumed a batch at a time, on
// the real stack: the outcome must be what applying the events one by one gives, the bad record on
// the DLQ, and the group's offsets committed to the end once applied.

const rand = () => randomBytes(3).toString('hex');
const DEVICES = 300;
const EVENTS_PER_DEVICE = 20;
const STATES = ['ENROLLED', 'ACTIVE', 'SUSPENDED'] as const;

describe('ota-distributor: the device projection in batches, on real Kafka and PostgreSQL', () => {
  let h: OtaHarness;

  beforeAll(async () => {
    // No operator route is called: enrollment is never asked.
    h = await OtaHarness.start({ enrollmentUrl: 'https://127.0.0.1:9' });
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('6,000 interleaved events of 300 devices: each device at its latest event, classId before model, the bad record dead-lettered, offsets committed', async () => {
    const tenantId = `t-${rand()}`;
    const t0 = Date.now() - 3_600_000;
    const deviceId = (d: number) => `MTR-${rand()}-${d}`;
    const ids = Array.from({ length: DEVICES }, (_, d) => deviceId(d));
    const expected = new Map<string, { state: string; classId: string | null }>();
    const enrollment: EnrollmentDeviceEvent[] = [];
    // Round robin over the devices, so each slice of a partition holds many devices' events.
    for (let i = 0; i < EVENTS_PER_DEVICE; i++) {
      for (const [d, id] of ids.entries()) {
        const last = i === EVENTS_PER_DEVICE - 1;
        // The last record of each device is older than the one before it: it changes nothing.
        const minute = last ? i - 5 : i;
        const status = STATES[(d + i) % STATES.length]!;
        enrollment.push({
          eventId: globalThis.crypto.randomUUID(),
          tenantId,
          occurredAt: new Date(t0 + minute * 60_000).toISOString(),
          deviceId: id,
          status,
          credential: { kind: 'certificate', fingerprintSha256: 'b'.repeat(64) },
          // A third carry a class id (the newest wins), a third only a model (older records), a third
          // a model first and nothing after (the class stays as it was).
          ...(d % 3 === 0 && { model: 'em300', classId: `em300-r${i}` }),
          ...(d % 3 === 1 && { model: `em300-m${i}` }),
          ...(d % 3 === 2 && i === 0 && { model: 'em300-first' }),
        });
        if (i === EVENTS_PER_DEVICE - 2)
          expected.set(id, {
            state: status,
            classId: [`em300-r${i}`, `em300-m${i}`, 'em300-first'][d % 3]!,
          });
      }
    }
    // Every tenth device decommissioned after all its enrollment records (published once they are
    // applied: the topics are not ordered between them).
    const decommissioned = ids.filter((_, d) => d % 10 === 0);
    const lifecycle: DeviceLifecycleEvent[] = decommissioned.map((id) => ({
      eventId: globalThis.crypto.randomUUID(),
      tenantId,
      occurredAt: new Date(t0 + EVENTS_PER_DEVICE * 60_000).toISOString(),
      type: 'decommissioned',
      deviceId: id,
      state: 'DECOMMISSIONED',
      actor: 'it-operator',
    }));
    const projection = () =>
      h.db
        .selectFrom('devices')
        .select(['device_id', 'state', 'class_id', 'state_at'])
        .where('tenant_id', '=', tenantId)
        .execute();

    const dlq = await TopicTap.open(testKafka(), `${ENROLLMENT_DEVICES.name}.dlq`);
    const kafka = testKafka();
    const producer = kafka.producer();
    await producer.connect();
    try {
      const marker = `bad-${rand()}`;
      const half = enrollment.length / 2;
      for (let start = 0; start < half; start += 1_000)
        await h.publish(ENROLLMENT_DEVICES, ...enrollment.slice(start, Math.min(start + 1_000, half)));
      // A record that fails its schema, keyed as a device of the batch: its partition's slice.
      await producer.send({
        topic: ENROLLMENT_DEVICES.name,
        messages: [
          { key: `${tenantId}/${ids[1]}`, value: JSON.stringify({ deviceId: marker, status: 'WHATEVER' }) },
        ],
      });
      for (let start = half; start < enrollment.length; start += 1_000)
        await h.publish(ENROLLMENT_DEVICES, ...enrollment.slice(start, start + 1_000));

      const rows = await waitUntil(
        async () => {
          const found = await projection();
          const done = found.filter((row) => row.state === expected.get(row.device_id)?.state);
          return done.length === DEVICES ? found : undefined;
        },
        { timeoutMs: 60_000, description: `the ${DEVICES} devices at their latest state` },
      );
      expect(rows.map((row) => [row.device_id, row.class_id])).toEqual(
        rows.map((row) => [row.device_id, expected.get(row.device_id)!.classId]),
      );
      // The older last record moved nothing: state_at is each device's newest event.
      expect(new Set(rows.map((row) => row.state_at.getTime()))).toEqual(
        new Set([t0 + (EVENTS_PER_DEVICE - 2) * 60_000]),
      );

      await h.publish(DEVICE_LIFECYCLE, ...lifecycle);
      const after = await waitUntil(
        async () => {
          const found = await projection();
          const gone = found.filter((row) => row.state === 'DECOMMISSIONED');
          return gone.length === decommissioned.length ? found : undefined;
        },
        { timeoutMs: 30_000, description: 'every tenth device decommissioned' },
      );
      expect(
        after
          .filter((row) => row.state === 'DECOMMISSIONED')
          .map((row) => row.device_id)
          .sort(),
      ).toEqual([...decommissioned].sort());
      // A lifecycle event carries no class: each keeps enrollment's.
      expect(after.map((row) => [row.device_id, row.class_id])).toEqual(
        after.map((row) => [row.device_id, expected.get(row.device_id)!.classId]),
      );

      const [bad] = await dlq.waitFor((r) => r.value.includes(marker), 1, 'the bad record on the DLQ');
      expect(bad!.headers[DLQ_HEADERS.reason]).toMatch(/^contract-violation: /);

      // Every offset committed once applied: a restarted distributor has nothing to replay.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitUntil(
          async () => {
            for (const topic of [ENROLLMENT_DEVICES.name, DEVICE_LIFECYCLE.name]) {
              const ends = await admin.fetchTopicOffsets(topic);
              const [committed] = await admin.fetchOffsets({ groupId: h.groupId, topics: [topic] });
              for (const end of ends) {
                const at = committed!.partitions.find((p) => p.partition === end.partition)?.offset;
                if (at !== end.high) return undefined;
              }
            }
            return true;
          },
          { timeoutMs: 20_000, description: 'the group committed to the topics’ ends' },
        );
      } finally {
        await admin.disconnect();
      }
    } finally {
      await producer.disconnect();
      await dlq.close();
    }
  }, 120_000);
});
