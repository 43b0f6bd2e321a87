import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_READINGS, validateEvent } from '@meterkeep/contracts';
import { openReadings } from '@meterkeep/reading-seal';
import {
  type ActiveFleet,
  type DeviceClient,
  type Platform,
  activeFleet,
  deviceClient,
  startPlatform,
} from '@meterkeep/testing';
import { dataKey, dataKeyGrants, kafkaClient, recordsOf } from './telemetry-kit';

// Change of tenancy through the running services (spec §4.3): a move-out dated in the future and the
// next move-in at the same instant; the ingest seals every reading by its time, so it switches keys at
// that instant exactly, and a batch straddling it is split per occupancy.
const MINUTE = 60_000;

describe('change of tenancy, end to end', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-cot-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  const tenantId = `cot-${runId.toLowerCase()}`;
  const kafka = kafkaClient();
  let platform: Platform;
  let fleet: ActiveFleet;
  let client: DeviceClient;
  let meter: string;

  beforeAll(async () => {
    platform = await startPlatform({ logs, privacyEnv: dataKeyGrants(tenantId) });
    fleet = await activeFleet(platform, { tenantId, count: 1, prefix: `COT${runId}M` });
    meter = fleet.batch.endpointNames[0]!;
    client = deviceClient(platform.ingestUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: meter,
    });
  }, 300_000);

  afterAll(async () => {
    client?.close();
    await platform?.stop();
  });

  const occupancy = async (from: number, subject: string) => {
    const answer = await fleet.privacyApi('POST', '/v1/occupancies', {
      meterId: meter,
      subjectRef: `subj-${subject}`,
      from: new Date(from).toISOString(),
    });
    expect(answer.status).toBe(201);
    return answer.body as { occupancyId: string; keyId: string };
  };
  const reading = (start: number) => ({
    obis: '1-0:1.29.0*255',
    intervalStart: new Date(start).toISOString().replace('.000Z', 'Z'),
    intervalMinutes: 1,
    value: 7,
    scaler: 0,
    unit: 'Wh',
  });

  it('future-dated move-out: readings on each side of the instant go under each occupant’s key, with no gap or overlap; a straddling batch is split', async () => {
    const A = await occupancy(Date.now() - 2 * 86_400_000, 'a');
    // A whole minute 90 to 150 s ahead: still in the future when closed, and within the ingest's clock
    // skew (5 min) for readings just after it.
    const T = Math.ceil((Date.now() + 90_000) / MINUTE) * MINUTE;
    const closed = await fleet.privacyApi('POST', `/v1/occupancies/${A.occupancyId}/close`, {
      to: new Date(T).toISOString(),
    });
    expect(closed.status).toBe(200);
    expect(Date.now()).toBeLessThan(T);
    const B = await occupancy(T, 'b');

    // One batch across the instant: minutes before and after it, and events 1 ms before and at it.
    const answer = await client.post('/tl/v1/batches', {
      batchId: 'straddle-1',
      readings: [-3, -2, -1, 0, 1].map((m) => reading(T + m * MINUTE)),
      events: [
        { code: 'TAMPER', occurredAt: new Date(T - 1).toISOString(), severity: 'alarm' },
        { code: 'TAMPER', occurredAt: new Date(T).toISOString(), severity: 'alarm' },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 7, rejected: [] });

    const records = (await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/${meter}`)).map((r) =>
      validateEvent(TELEMETRY_READINGS, JSON.parse(r.value)),
    );
    // Split per occupancy: one record per key, nothing under the meter's own key (no gap).
    expect(records.map((r) => r.keyId).sort()).toEqual([A.keyId, B.keyId].sort());
    const [ofA, ofB] = [A.keyId, B.keyId].map((keyId) => records.find((r) => r.keyId === keyId)!);
    const aKey = (await dataKey(platform, fleet.tenantId, A.keyId)).key!;
    const bKey = (await dataKey(platform, fleet.tenantId, B.keyId)).key!;
    const inA = openReadings(ofA!, aKey);
    const inB = openReadings(ofB!, bKey);
    expect(inA.readings.map((r) => Date.parse(r.intervalStart))).toEqual([
      T - 3 * MINUTE,
      T - 2 * MINUTE,
      T - MINUTE,
    ]);
    expect(inA.events.map((e) => Date.parse(e.occurredAt))).toEqual([T - 1]);
    expect(inB.readings.map((r) => Date.parse(r.intervalStart))).toEqual([T, T + MINUTE]);
    expect(inB.events.map((e) => Date.parse(e.occurredAt))).toEqual([T]);
    // No overlap: neither key opens the other's record.
    expect(() => openReadings(ofA!, bKey)).toThrow();
    expect(() => openReadings(ofB!, aKey)).toThrow();
    // The envelopes' reading-time bounds show the switch without a key.
    expect([ofA!.intervalFrom, ofA!.intervalTo]).toEqual([
      new Date(T - 3 * MINUTE).toISOString(),
      new Date(T - 1).toISOString(),
    ]);
    expect([ofB!.intervalFrom, ofB!.intervalTo]).toEqual([
      new Date(T).toISOString(),
      new Date(T + MINUTE).toISOString(),
    ]);
  });
});
