import { createHash, randomBytes } from 'node:crypto';
import type { KafkaClient as Kafka } from '@meterkeep/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, firstBrokenLink } from '@meterkeep/audit';
import { AUDIT_EVENTS, DEVICE_LIFECYCLE, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import { EnrollmentHarness, TopicTap, auditChainOf, waitUntil } from './enrollment-test-kit';

const fingerprint = (endpoint: string) => createHash('sha256').update(endpoint).digest('hex');
const CERT_HEADER = 'endpoint_name,certificate_sha256,model,batch_id';
const PSK_HEADER = 'endpoint_name,psk_identity,psk_key_base64,model,batch_id';

interface Report {
  uploadId: string;
  accepted: number;
  unchanged: number;
  rejected: number;
  rejectedRows: { line: number; reason: string }[];
  rejectedRowsTruncated: boolean;
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('enrollment: enrollment lists', () => {
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let operator: string;
  let devices: TopicTap;
  let lifecycle: TopicTap;
  let audit: TopicTap;
  const prefix = `MTR-${randomBytes(4).toString('hex')}`;
  const endpoint = (n: number) => `${prefix}-${String(n).padStart(6, '0')}`;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ tenantId, adminKey } = await h.tenant());
    operator = await h.key(adminKey, 'operator');
    [devices, lifecycle, audit] = await Promise.all([
      TopicTap.open(h.kafka, ENROLLMENT_DEVICES),
      TopicTap.open(h.kafka, DEVICE_LIFECYCLE),
      TopicTap.open(h.kafka, AUDIT_EVENTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([devices?.close(), lifecycle?.close(), audit?.close()]);
    await h?.stop();
  });

  const upload = (body: string, contentType = 'text/csv', key = operator) =>
    h.request<Report>('POST', '/v1/enrollment-lists', { key, body, contentType });
  const drained = () =>
    waitUntil(async () => (await h.outboxSize()) === 0, { description: 'the outbox to drain' });

  it('enrolls the good rows of a CSV list and reports each malformed row by line number', async () => {
    const csv = [
      CERT_HEADER, // 1
      `${endpoint(1)},${fingerprint(endpoint(1))},EM-300,B-1`, // 2
      `${endpoint(2)},${fingerprint(endpoint(2))},EM-300,B-1`, // 3
      `${endpoint(3)},not-a-fingerprint,EM-300,B-1`, // 4
      `${endpoint(4)},${fingerprint(endpoint(4))},EM-300`, // 5: a field short
      '', // 6: blank, skipped
      `,${fingerprint('x')},EM-300,B-1`, // 7: no endpoint
      `${endpoint(2)},${fingerprint(endpoint(2))},EM-300,B-1`, // 8: again in this list
      `${endpoint(5)},${fingerprint(endpoint(5))},"EM-300,B-1`, // 9: broken quoting
      `${endpoint(6)},${fingerprint(endpoint(6))},EM-300,B-1`, // 10
    ].join('\r\n');
    const response = await upload(csv);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      accepted: 3,
      unchanged: 0,
      rejected: 5,
      rejectedRowsTruncated: false,
    });
    expect(response.body.rejectedRows).toEqual([
      { line: 4, reason: 'certificate_sha256: must be a SHA-256 fingerprint (64 hex digits)' },
      { line: 5, reason: 'expected 4 fields, found 3' },
      { line: 7, reason: 'endpoint_name: missing' },
      { line: 8, reason: 'endpoint appears earlier in this list (line 3)' },
      { line: 9, reason: 'unterminated quoted field' },
    ]);
    const stored = await h.request<Report>('GET', `/v1/enrollment-lists/${response.body.uploadId}`, {
      key: operator,
    });
    expect(stored.body).toMatchObject({ accepted: 3, rejected: 5, rejectedRows: response.body.rejectedRows });

    const device = await h.request('GET', `/v1/devices/${endpoint(1)}`, { key: operator });
    expect(device.body).toMatchObject({
      endpointName: endpoint(1),
      state: 'ENROLLED',
      credential: { kind: 'certificate', fingerprintSha256: fingerprint(endpoint(1)) },
      model: 'EM-300',
      batchId: 'B-1',
    });
  });

  it('publishes each enrolled device, keyed tenant/device, on the registry and lifecycle topics', async () => {
    for (const n of [1, 2, 6]) {
      const [status] = await devices.waitFor(
        (r) => r.json.deviceId === endpoint(n),
        1,
        `${endpoint(n)} status`,
      );
      expect(status!.key).toBe(`${tenantId}/${endpoint(n)}`);
      expect(status!.json).toMatchObject({
        tenantId,
        deviceId: endpoint(n),
        status: 'ENROLLED',
        credential: { kind: 'certificate', fingerprintSha256: fingerprint(endpoint(n)) },
        model: 'EM-300',
      });
      const [enrolled] = await lifecycle.waitFor(
        (r) => r.json.deviceId === endpoint(n),
        1,
        `${endpoint(n)} enrolled`,
      );
      expect(enrolled!.key).toBe(`${tenantId}/${endpoint(n)}`);
      expect(enrolled!.json).toMatchObject({
        type: 'enrolled',
        state: 'ENROLLED',
        actor: `key_${operator.slice(3, 15)}`,
      });
    }
  });

  it('takes a re-upload of the same list as unchanged, with no new events and no state change', async () => {
    const csv = [
      CERT_HEADER,
      ...[11, 12, 13].map((n) => `${endpoint(n)},${fingerprint(endpoint(n))},EM-300,B-2`),
    ].join('\n');
    expect((await upload(csv)).body).toMatchObject({ accepted: 3, unchanged: 0, rejected: 0 });
    await drained();
    const before = {
      devices: await highWatermarks(h.kafka, ENROLLMENT_DEVICES.name),
      lifecycle: await highWatermarks(h.kafka, DEVICE_LIFECYCLE.name),
      version: (await h.request<{ version: number }>('GET', `/v1/devices/${endpoint(11)}`, { key: operator }))
        .body.version,
    };

    const again = await upload(csv);
    expect(again.body).toMatchObject({ accepted: 0, unchanged: 3, rejected: 0 });
    await drained();
    expect(await highWatermarks(h.kafka, ENROLLMENT_DEVICES.name)).toBe(before.devices);
    expect(await highWatermarks(h.kafka, DEVICE_LIFECYCLE.name)).toBe(before.lifecycle);
    expect(
      (await h.request<{ version: number }>('GET', `/v1/devices/${endpoint(11)}`, { key: operator })).body
        .version,
    ).toBe(before.version);

    // A changed row of a device not yet bootstrapped is an update, not a duplicate.
    const changed = await upload(
      [CERT_HEADER, `${endpoint(11)},${fingerprint('rekeyed')},EM-300,B-2`].join('\n'),
    );
    expect(changed.body).toMatchObject({ accepted: 1, unchanged: 0 });
  });

  it('reads NDJSON lists the same way, with their line numbers', async () => {
    const ndjson = [
      JSON.stringify({
        endpointName: endpoint(21),
        certificateSha256: fingerprint(endpoint(21)),
        model: 'EM-1',
        batchId: 'N',
      }),
      '{"endpointName": ',
      JSON.stringify({
        endpointName: endpoint(22),
        certificateSha256: fingerprint(endpoint(22)),
        colour: 'red',
      }),
      JSON.stringify({ endpointName: endpoint(23), certificateSha256: fingerprint(endpoint(23)) }),
    ].join('\n');
    const response = await upload(ndjson, 'application/x-ndjson; charset=utf-8');
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      accepted: 2,
      rejected: 2,
      rejectedRows: [
        { line: 2, reason: 'not valid JSON' },
        { line: 3, reason: 'unknown field "colour"' },
      ],
    });
  });

  it('refuses a list it cannot read as a whole: bad header, no rows, wrong media type', async () => {
    const badHeader = await upload('endpoint,fingerprint\nMTR-1,abc\n');
    expect(badHeader.status).toBe(400);
    expect(badHeader.body).toMatchObject({ code: 'INVALID_ENROLLMENT_LIST_HEADER' });
    const empty = await upload(`${CERT_HEADER}\n\n`);
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'ENROLLMENT_LIST_EMPTY' });
    const json = await h.request('POST', '/v1/enrollment-lists', {
      key: operator,
      json: [{ endpointName: 'x' }],
    });
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it("accepts rows naming another tenant's meters into the uploader's own namespace: the other's stay untouched, nothing tells of them", async () => {
    const other = await h.tenant('rival');
    const before = (await h.request('GET', `/v1/devices/${endpoint(1)}`, { key: operator })).text;
    const csv = [
      CERT_HEADER,
      `${endpoint(1)},${fingerprint(endpoint(1))},EM-300,B-1`, // held by the first tenant
      `${endpoint(31)},${fingerprint(endpoint(31))},EM-300,B-9`, // held by nobody
      `${endpoint(2)},${fingerprint('different')},EM-300,B-1`, // held, with a made-up credential
    ].join('\n');
    const response = await upload(csv, 'text/csv', other.adminKey);
    expect(response.body).toMatchObject({ accepted: 3, rejected: 0, rejectedRows: [] });
    expect(response.text).not.toContain(tenantId);
    expect((await h.request('GET', `/v1/devices/${endpoint(1)}`, { key: operator })).text).toBe(before);
    expect((await h.request('GET', `/v1/devices/${endpoint(2)}`, { key: operator })).body).toMatchObject({
      credential: { kind: 'certificate', fingerprintSha256: fingerprint(endpoint(2)) },
    });
    // The first tenant's list again: its rows are still its own, unchanged.
    const again = await upload(
      [CERT_HEADER, `${endpoint(1)},${fingerprint(endpoint(1))},EM-300,B-1`].join('\n'),
    );
    expect(again.body).toMatchObject({ accepted: 0, unchanged: 1, rejected: 0 });

    // The rival's whole chain so far: tenant created, key created, the upload; no refusal of anything.
    await audit.waitFor(
      (r) => r.json.tenantId === other.tenantId && r.json.action === 'enrollment.list-uploaded',
      1,
      'the upload record',
    );
    const events = auditChainOf(audit, other.tenantId);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
    expect(events.map((e) => e.action)).toEqual([
      'tenant.created',
      'apikey.created',
      'enrollment.list-uploaded',
    ]);
  });

  it('stores PSKs sealed and never shows them: not in a response, a log line or a Kafka message', async () => {
    const keys = [1, 2, 3].map(() => randomBytes(32));
    const csv = [
      PSK_HEADER,
      ...keys.map((key, i) => `${endpoint(40 + i)},psk-${prefix}-${i},${key.toString('base64')},EM-P,B-P`),
    ].join('\n');
    const ndjsonKey = randomBytes(24);
    const bad = randomBytes(8);
    const ndjson = [
      JSON.stringify({
        endpointName: endpoint(50),
        pskIdentity: `psk-${prefix}-50`,
        pskKeyBase64: ndjsonKey.toString('base64'),
      }),
      JSON.stringify({
        endpointName: endpoint(51),
        pskIdentity: `psk-${prefix}-51`,
        pskKeyBase64: bad.toString('base64'),
      }),
      `{"endpointName": "${endpoint(52)}", "pskKeyBase64": "${bad.toString('base64')}"`,
    ].join('\n');
    const secrets = [...keys, ndjsonKey, bad].flatMap((key) => [
      key.toString('base64'),
      key.toString('hex'),
      key.toString('base64url'),
    ]);

    const uploads = [await upload(csv), await upload(csv), await upload(ndjson, 'application/x-ndjson')];
    expect(uploads.map((r) => [r.body.accepted, r.body.unchanged, r.body.rejected])).toEqual([
      [3, 0, 0],
      [0, 3, 0],
      [1, 0, 2],
    ]);
    const claim = await h.request('POST', `/v1/devices/${endpoint(60)}/claim`, {
      key: operator,
      json: { pskIdentity: `psk-${prefix}-60`, pskKeyBase64: keys[0]!.toString('base64') },
    });
    expect(claim.status).toBe(200);
    const responses: { text: string; body: unknown }[] = [...uploads, claim];
    responses.push(await h.request('GET', `/v1/devices/${endpoint(40)}`, { key: operator }));
    responses.push(await h.request('GET', '/v1/devices?model=EM-P', { key: operator }));
    expect(responses.at(-2)!.body).toMatchObject({
      credential: { kind: 'psk', pskIdentity: `psk-${prefix}-0` },
    });
    expect((responses.at(-1)!.body as { items: unknown[] }).items).toHaveLength(3);

    const status = await devices.waitFor((r) => r.json.deviceId === endpoint(50), 1, 'the NDJSON PSK device');
    expect(status[0]!.json.credential).toEqual({ kind: 'psk', pskIdentity: `psk-${prefix}-50` });
    await lifecycle.waitFor((r) => r.json.deviceId === endpoint(60), 1, 'the claimed PSK device');
    await drained();

    const stored = await h.db
      .selectFrom('devices')
      .selectAll()
      .where('endpoint_name', '=', endpoint(40))
      .executeTakeFirstOrThrow();
    expect(stored.psk_key_ciphertext).toHaveLength(32);
    expect(stored.psk_key_ciphertext!.equals(keys[0]!)).toBe(false);

    const everything = [
      ...responses.map((r) => r.text),
      ...h.logs,
      ...devices.records.map((r) => r.value),
      ...lifecycle.records.map((r) => r.value),
      ...audit.records.map((r) => r.value),
    ].join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it("refuses a PSK identity already used by another of the tenant's meters, not one another tenant uses", async () => {
    const csv = [
      PSK_HEADER,
      `${endpoint(70)},psk-${prefix}-0,${randomBytes(32).toString('base64')},EM-P,B-P`,
    ].join('\n');
    expect((await upload(csv)).body).toMatchObject({
      accepted: 0,
      rejectedRows: [{ line: 2, reason: 'PSK identity already used by another device of this tenant' }],
    });
    const other = await h.tenant('psk-rival');
    expect((await upload(csv, 'text/csv', other.adminKey)).body).toMatchObject({ accepted: 1, rejected: 0 });
  });
});
