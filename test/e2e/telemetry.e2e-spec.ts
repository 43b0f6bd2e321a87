import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TELEMETRY_READINGS,
  type TelemetryReadingEvent,
  telemetryBatch,
  validateEvent,
} from '@meterkeep/contracts';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  parseCertificate,
} from '@meterkeep/pki';
import { openReadings } from '@meterkeep/reading-seal';
import {
  type ActiveFleet,
  type DeviceClient,
  type Platform,
  activeFleet,
  deviceClient,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { dataKey, dataKeyGrants, dayOfReadings, kafkaClient, recordsOf, utcDay } from './telemetry-kit';

// Readings from bootstrapped meters through the mutual-TLS ingest to Kafka, sealed per occupancy,
// with every refusal the issue names.
function isValidEnvelope(raw: string): boolean {
  try {
    return telemetryBatch.safeParse(JSON.parse(raw)).success;
  } catch {
    return false;
  }
}

describe('telemetry ingest, end to end', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-telemetry-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  const tenantId = `tl-${runId.toLowerCase()}`;
  const kafka = kafkaClient();
  let platform: Platform;
  let fleet: ActiveFleet;
  let meters: string[];
  const clients = new Map<string, DeviceClient>();
  const client = (endpointName: string) => {
    let found = clients.get(endpointName);
    if (!found) {
      found = deviceClient(platform.ingestUri, platform.serverCaPem, {
        statesDir: fleet.batch.statesDir,
        endpointName,
      });
      clients.set(endpointName, found);
    }
    return found;
  };
  const post = (endpointName: string, body: unknown) => client(endpointName).post('/tl/v1/batches', body);

  beforeAll(async () => {
    platform = await startPlatform({ logs, privacyEnv: dataKeyGrants(tenantId) });
    fleet = await activeFleet(platform, {
      tenantId,
      count: 8,
      prefix: `TL${runId}M`,
    });
    meters = fleet.batch.endpointNames;
  }, 300_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await platform?.stop();
  });

  it('acknowledges a day of readings only once sealed in Kafka: no plaintext on the topic, readable with the key', async () => {
    const [meter] = meters;
    const readings = dayOfReadings(utcDay(1));
    const events = [{ code: 'TAMPER', occurredAt: `${utcDay(1)}T03:17:00Z`, severity: 'alarm' }];
    const answer = await post(meter!, { batchId: 'day-1', readings, events });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      meterId: meter,
      accepted: 49,
      duplicates: 0,
      rejected: [],
      replayed: false,
    });

    const records = await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/${meter}`);
    expect(records).toHaveLength(1);
    const raw = records[0]!.raw.toString('latin1');
    // An outside consumer (as kcat would) sees no reading in the clear.
    for (const secret of ['1-0:1.29.0', 'TAMPER', '"value"', String(readings[5]!.value) + ',"scaler"'])
      expect(raw).not.toContain(secret);
    const event = validateEvent(TELEMETRY_READINGS, JSON.parse(records[0]!.value));
    expect(event.readingCount).toBe(49);
    expect(() => openReadings(event, randomBytes(32))).toThrow();
    const key = await dataKey(platform, fleet.tenantId, event.keyId);
    expect(key.status).toBe(200);
    const opened = openReadings(event, key.key!);
    expect(opened.readings).toEqual(readings);
    expect(opened.events).toEqual(events);
  });

  it('acknowledges a replayed batch again without a second copy, and counts repeated readings as duplicates', async () => {
    const meter = meters[1]!;
    const batch = { batchId: 'replay-1', readings: dayOfReadings(utcDay(2), 2, 10) };
    const first = await post(meter, batch);
    expect(first.body).toMatchObject({ accepted: 10, replayed: false });
    const again = await post(meter, batch);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: 10, replayed: true });
    // A new batch carrying 10 readings already received and 5 new ones.
    const overlap = await post(meter, { batchId: 'replay-2', readings: dayOfReadings(utcDay(2), 2, 15) });
    expect(overlap.body).toMatchObject({ accepted: 5, duplicates: 10, replayed: false });

    const records = await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/${meter}`);
    const counts = records.map((r) => (JSON.parse(r.value) as TelemetryReadingEvent).readingCount);
    expect(counts.sort()).toEqual([10, 5].sort());
  });

  it('lists each malformed reading with its index and reason, keeps the rest, and sends the refusals to telemetry.rejected.v1', async () => {
    const meter = meters[2]!;
    const readings = dayOfReadings(utcDay(1), 3, 6);
    readings[1] = { ...readings[1], obis: '1-0:1.8' };
    readings[3] = { ...readings[3], intervalStart: `${utcDay(1)}T00:31:00Z` };
    readings[4] = { ...readings[4], value: 'a lot' };
    const answer = await post(meter, { batchId: 'bad-rows', readings });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 3 });
    const rejected = (answer.body as { rejected: { index: number; code: string }[] }).rejected;
    expect(rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'OBIS_INVALID'],
      [3, 'INTERVAL_MISALIGNED'],
      [4, 'VALUE_INVALID'],
    ]);
    const topic = await recordsOf(kafka, 'telemetry.rejected.v1', `${fleet.tenantId}/${meter}`);
    expect(topic.map((r) => (JSON.parse(r.value) as { index: number }).index).sort()).toEqual([1, 3, 4]);
  });

  it('refuses a reading for another meter from a meter that is not its gateway, and a gateway outside its set', async () => {
    const [, , , gateway, assigned, other] = meters as [string, string, string, string, string, string];
    expect(
      (await post(other, { batchId: 'x-1', meterId: assigned, readings: dayOfReadings(utcDay(1), 4, 1) }))
        .body,
    ).toMatchObject({
      code: 'NOT_YOUR_METER',
    });
    const assign = await fleet.api('PUT', `/v1/devices/${assigned}/gateway`, { gatewayId: gateway });
    expect(assign.status).toBe(200);
    await waitUntil(
      async () =>
        (
          await post(gateway, {
            batchId: 'gw-1',
            meterId: assigned,
            readings: dayOfReadings(utcDay(1), 5, 4),
          })
        ).status === 200,
      { timeoutMs: 20_000, description: 'the gateway assignment to reach the ingest' },
    );
    const outside = await post(gateway, {
      batchId: 'gw-2',
      meterId: other,
      readings: dayOfReadings(utcDay(1), 6, 4),
    });
    expect(outside.status).toBe(403);
    expect(outside.body).toMatchObject({ code: 'NOT_YOUR_METER' });
  });

  it('refuses a connection without a client certificate, and one not issued by a tenant issuing CA', async () => {
    const anonymous = deviceClient(platform.ingestUri, platform.serverCaPem);
    const answer = await anonymous.post('/tl/v1/batches', {
      batchId: 'anon',
      readings: dayOfReadings(utcDay(1), 7, 1),
    });
    anonymous.close();
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED' });

    // A self-made CA named like the tenant's issuing CA, issuing a certificate with a real meter's name.
    const stored = JSON.parse(
      readFileSync(join(fleet.batch.statesDir, meters[0]!, 'operational.json'), 'utf8'),
    ) as { chainPem: string[] };
    const issuerName = parseCertificate(stored.chainPem[0]!).subject;
    const now = Date.now();
    const rogueCa = createRootCa({
      subject: { commonName: issuerName.commonName!, organization: issuerName.get('O') },
      validity: { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) },
    });
    const keyPair = generateKeyPair();
    const certificate = issueCertificate({
      issuer: rogueCa,
      profile: 'operational-device',
      subject: { commonName: meters[0]! },
      subjectPublicKey: keyPair.publicKey,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    const rogue = deviceClient(platform.ingestUri, platform.serverCaPem, {
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: certificate.pem,
    });
    const refused = await rogue.post('/tl/v1/batches', {
      batchId: 'rogue',
      readings: dayOfReadings(utcDay(1), 8, 1),
    });
    rogue.close();
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'CERTIFICATE_UNTRUSTED' });
  });

  it('refuses a suspended meter on its next batch (its certificate is revoked)', async () => {
    const meter = meters[5]!;
    expect((await post(meter, { batchId: 'before', readings: dayOfReadings(utcDay(1), 9, 2) })).status).toBe(
      200,
    );
    expect((await fleet.api('POST', `/v1/devices/${meter}/suspend`)).status).toBe(200);
    await waitUntil(
      async () => {
        const answer = await post(meter, {
          batchId: `after-${Date.now()}`,
          readings: dayOfReadings(utcDay(1), 10, 2),
        });
        return answer.status === 401 || answer.status === 403 ? answer.body : undefined;
      },
      { timeoutMs: 20_000, description: 'the suspension to reach the ingest' },
    );
  });

  it('seals each household under its occupancy key; destroying one key leaves its records unreadable and the neighbour’s readable', async () => {
    const [household, neighbour] = [meters[6]!, meters[7]!];
    const from = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const open = async (meterId: string) => {
      const answer = await fleet.privacyApi('POST', '/v1/occupancies', {
        meterId,
        subjectRef: `subj-${meterId.slice(-4)}`,
        from,
      });
      expect(answer.status).toBe(201);
      return (answer.body as { keyId: string }).keyId;
    };
    const [householdKey, neighbourKey] = [await open(household), await open(neighbour)];
    for (const meter of [household, neighbour])
      expect(
        (await post(meter, { batchId: 'occ-1', readings: dayOfReadings(utcDay(2), 12, 8) })).body,
      ).toMatchObject({
        accepted: 8,
      });
    const sealed = async (meter: string) => {
      const [record] = await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/${meter}`);
      return validateEvent(TELEMETRY_READINGS, JSON.parse(record!.value));
    };
    const [ofHousehold, ofNeighbour] = [await sealed(household), await sealed(neighbour)];
    expect(ofHousehold.keyId).toBe(householdKey);
    expect(ofNeighbour.keyId).toBe(neighbourKey);

    const destroyed = await fleet.privacyApi('POST', `/v1/data-keys/${householdKey}/destroy`);
    expect(destroyed.status).toBe(200);
    expect((await dataKey(platform, fleet.tenantId, householdKey)).status).toBe(410);
    const neighbourKeyBytes = await dataKey(platform, fleet.tenantId, neighbourKey);
    expect(openReadings(ofNeighbour, neighbourKeyBytes.key!).readings).toHaveLength(8);
    // Nothing but the destroyed key opens the household's record: the neighbour's key does not.
    expect(() => openReadings(ofHousehold, neighbourKeyBytes.key!)).toThrow();

    // The ingest drops the key on the announcement, and refuses new readings of the erased period.
    // Each try posts an interval never posted before: one the ingest accepted while the announcement
    // was on its way is a duplicate ever after, never refused (day 2 holds the readings above).
    let attempt = 0;
    const refused = await waitUntil(
      async () => {
        const day = [1, 3, 4, 5, 6][Math.floor(attempt / 48) % 5]!;
        const reading = dayOfReadings(utcDay(day), 13)[attempt++ % 48]!;
        const answer = await post(household, { batchId: `occ-2-${attempt}`, readings: [reading] });
        const body = answer.body as { rejected?: { code: string }[] };
        return body.rejected?.[0]?.code === 'OCCUPANCY_ERASED' ? body : undefined;
      },
      { timeoutMs: 30_000, description: 'the key destruction to reach the ingest' },
    );
    expect(refused).toMatchObject({ accepted: 0 });
  });

  it('answers 413 for an oversized batch and 415 for a body that is not JSON, and stays up', async () => {
    const meter = meters[0]!;
    const many = await post(meter, {
      batchId: 'huge',
      readings: Array.from({ length: 1_001 }, () => dayOfReadings(utcDay(1))[0]),
    });
    expect(many.status).toBe(413);
    const bytes = await client(meter).post('/tl/v1/batches', undefined, { raw: 'x'.repeat(600 * 1024) });
    expect(bytes.status).toBe(413);
    const text = await client(meter).post('/tl/v1/batches', undefined, {
      raw: 'readings',
      contentType: 'text/plain',
    });
    expect(text.status).toBe(415);
    expect((await platform.ingest.readiness()).httpStatus).toBe(200);
  });

  it('answers 10,000 fuzzed malformed bodies with 4xx and no crash', async () => {
    const meter = meters[1]!;
    const seeds: unknown[] = [
      { batchId: 'f', readings: dayOfReadings(utcDay(1), 11, 3) },
      { batchId: 'f', readings: [], events: [] },
    ];
    const mutate = (i: number): { raw: string } => {
      const base = JSON.stringify(seeds[i % seeds.length]);
      const bytes = Buffer.from(base);
      const flips = 1 + (i % 7);
      for (let f = 0; f < flips; f++) bytes[(i * 131 + f * 977) % bytes.length] = (i * 7 + f * 13) % 256;
      return { raw: bytes.toString('latin1') };
    };
    const statuses = new Map<number, number>();
    const fuzzClient = client(meter);
    // Only bodies the batch contract refuses count: a mutation that leaves a valid envelope is a real
    // batch (its bad readings are refused one by one, with 200). One at a time: a meter writes one
    // batch at a time.
    let sent = 0;
    for (let i = 0; sent < 10_000; i++) {
      const body = mutate(i);
      if (isValidEnvelope(body.raw)) continue;
      const answer = await fuzzClient.post('/tl/v1/batches', undefined, body);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      sent += 1;
    }
    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    const refused = [...statuses].filter(([status]) => status >= 400 && status < 500);
    expect(
      refused.reduce((n, [, count]) => n + count, 0),
      JSON.stringify([...statuses]),
    ).toBe(10_000);
    expect(platform.ingest.child.exitCode).toBeNull();
    expect((await platform.ingest.readiness()).httpStatus).toBe(200);
  }, 180_000);
});
