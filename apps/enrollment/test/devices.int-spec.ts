import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMPTY_CHAIN, firstBrokenLink } from '@meterkeep/audit';
import {
  AUDIT_EVENTS,
  DEVICE_LIFECYCLE,
  type DeviceLifecycleEvent,
  ENROLLMENT_DEVICES,
  deadLetterTopicName,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { RecordDeviceBootstrapUseCase } from '../src/devices/record-device-bootstrap.use-case';
import { Transactions } from '../src/outbox/transactions';
import { EnrollmentHarness, TopicTap, auditChainOf, waitUntil } from './enrollment-test-kit';

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex');

interface Device {
  endpointName: string;
  state: string;
  version: number;
  claimExpiresAt: string | null;
  classId: string | null;
  operationalCertificateSerial: string | null;
  createdAt: string;
}

describe('enrollment: the device registry and its lifecycle', () => {
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let operator: string;
  let devices: TopicTap;
  let lifecycle: TopicTap;
  let audit: TopicTap;
  let deadLetters: TopicTap;
  const prefix = `DEV-${randomBytes(4).toString('hex')}`;
  const endpoint = (n: number) => `${prefix}-${String(n).padStart(5, '0')}`;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ tenantId, adminKey } = await h.tenant());
    operator = await h.key(adminKey, 'operator');
    [devices, lifecycle, audit, deadLetters] = await Promise.all([
      TopicTap.open(h.kafka, ENROLLMENT_DEVICES),
      TopicTap.open(h.kafka, DEVICE_LIFECYCLE),
      TopicTap.open(h.kafka, AUDIT_EVENTS),
      TopicTap.open(h.kafka, deadLetterTopicName(DEVICE_LIFECYCLE.name)),
    ]);
  });
  afterAll(async () => {
    await Promise.all([devices, lifecycle, audit, deadLetters].map((tap) => tap?.close()));
    await h?.stop();
  });

  const claim = (n: number, body: Record<string, unknown> = {}, key = operator) =>
    h.request<{ outcome: string; device: Device; code?: string }>(
      'POST',
      `/v1/devices/${endpoint(n)}/claim`,
      {
        key,
        json: { certificateSha256: fingerprint(endpoint(n)), model: 'EM-300', ...body },
      },
    );
  const get = (n: number, key = operator) => h.request<Device>('GET', `/v1/devices/${endpoint(n)}`, { key });
  const command = (n: number, verb: string, key = adminKey) =>
    h.request<Device & { code?: string }>('POST', `/v1/devices/${endpoint(n)}/${verb}`, { key });

  /** The event bootstrap publishes when a meter has bootstrapped. */
  const bootstrapEvent = (
    n: number,
    overrides: Partial<DeviceLifecycleEvent> = {},
  ): DeviceLifecycleEvent => ({
    eventId: randomUUID(),
    tenantId,
    occurredAt: new Date().toISOString(),
    type: 'bootstrapped',
    deviceId: endpoint(n),
    state: 'ACTIVE',
    actor: 'bootstrap',
    certificateSerial: '5f3a9c',
    ...overrides,
  });

  /** Publishes that event on device.lifecycle.v1, as bootstrap does. */
  async function bootstrapped(
    n: number,
    overrides: Partial<DeviceLifecycleEvent> = {},
  ): Promise<DeviceLifecycleEvent> {
    const event = bootstrapEvent(n, overrides);
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, event);
    return event;
  }
  const stateOf = async (n: number) => (await get(n)).body.state;

  it('claims a single meter, idempotently, and publishes it', async () => {
    const first = await claim(1);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      outcome: 'claimed',
      device: { endpointName: endpoint(1), state: 'ENROLLED' },
    });
    expect((await claim(1)).body).toMatchObject({ outcome: 'unchanged' });
    const [event] = await lifecycle.waitFor((r) => r.json.deviceId === endpoint(1), 1, 'claimed');
    expect(event!.json).toMatchObject({ type: 'claimed', state: 'ENROLLED' });
    const [status] = await devices.waitFor((r) => r.json.deviceId === endpoint(1), 1, 'status');
    expect(status!.key).toBe(`${tenantId}/${endpoint(1)}`);
  });

  it("answers 404 for another tenant's meter exactly as for one that does not exist", async () => {
    await claim(2);
    const other = await h.tenant('other');
    const foreign = await get(2, other.adminKey);
    const missing = await h.request('GET', `/v1/devices/${prefix}-nope`, { key: other.adminKey });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe(missing.text);
    expect(foreign.body).toMatchObject({ code: 'DEVICE_NOT_FOUND', message: 'No such device' });
    for (const verb of ['suspend', 'resume', 'decommission']) {
      const attempt = await command(2, verb, other.adminKey);
      const nowhere = await h.request('POST', `/v1/devices/${prefix}-nope/${verb}`, { key: other.adminKey });
      expect(attempt.status).toBe(404);
      expect(attempt.text).toBe(nowhere.text);
    }
    const list = await h.request<{ items: Device[] }>('GET', '/v1/devices', { key: other.adminKey });
    expect(list.body.items).toEqual([]);
    expect(await stateOf(2)).toBe('ENROLLED');
  });

  it("answers another tenant's claim on a name this tenant holds as on any free name, and changes nothing here", async () => {
    const before = (await get(1)).body;
    const rival = await h.tenant('rival');
    // A made-up fingerprint, and then the genuine one: names are per tenant, so neither can block or
    // take this tenant's meter (bootstrap decides by the CA the meter chains to), nor tell it exists.
    const squat = await claim(1, { certificateSha256: fingerprint('made up') }, rival.adminKey);
    const free = await claim(5, { certificateSha256: fingerprint('made up') }, rival.adminKey);
    expect([squat.status, free.status]).toEqual([200, 200]);
    expect(squat.body.outcome).toBe('claimed');
    expect(free.body.outcome).toBe('claimed');
    const shape = (body: { device: Device }) => ({
      ...body,
      device: { ...body.device, endpointName: '', createdAt: '', updatedAt: '' },
    });
    expect(shape(squat.body)).toEqual(shape(free.body));
    expect(squat.text).not.toContain(tenantId);
    const genuine = await claim(1, {}, rival.adminKey);
    expect(genuine.status).toBe(200);

    expect((await get(1)).body).toEqual(before);
    expect((await claim(1)).body).toMatchObject({ outcome: 'unchanged' });
    const [record] = await devices.waitFor(
      (r) => r.json.deviceId === endpoint(1) && r.json.tenantId === rival.tenantId,
      1,
      "the rival's own record",
    );
    expect(record!.key).toBe(`${rival.tenantId}/${endpoint(1)}`);
    expect(
      audit.records.filter((r) => r.json.tenantId === rival.tenantId && r.json.outcome === 'refused'),
    ).toEqual([]);
  });

  it('keeps and publishes the device class a claim gives (classId); none without it; refuses a malformed one', async () => {
    const claimed = await claim(30, { classId: 'em300-eu' });
    expect(claimed.body.device).toMatchObject({ classId: 'em300-eu', model: 'EM-300' });
    expect((await get(30)).body.classId).toBe('em300-eu');
    const [status] = await devices.waitFor((r) => r.json.deviceId === endpoint(30), 1, 'classed claim');
    expect(status!.json).toMatchObject({ classId: 'em300-eu', model: 'EM-300' });
    // The same claim again changes nothing.
    expect((await claim(30, { classId: 'em300-eu' })).body).toMatchObject({ outcome: 'unchanged' });

    await claim(31);
    const [unclassed] = await devices.waitFor(
      (r) => r.json.deviceId === endpoint(31),
      1,
      'claim without class',
    );
    expect(unclassed!.json).not.toHaveProperty('classId');
    expect((await get(31)).body.classId).toBeNull();

    const refused = await claim(32, { classId: 'em300 eu' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'INVALID_CLAIM' });
    expect(JSON.stringify(refused.body)).toMatch(/classId/);
  });

  it('publishes a claim with its expiry, and refuses an expiry in the past', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const claimed = await claim(3, { claimExpiresAt: expiresAt });
    expect(claimed.body.device.claimExpiresAt).toBe(expiresAt);
    const [status] = await devices.waitFor((r) => r.json.deviceId === endpoint(3), 1, 'expiring claim');
    expect(status!.json.claimExpiresAt).toBe(expiresAt);
    expect(status!.json.enrolledAt).toBe(claimed.body.device.createdAt);

    // A claim in the past is no claim.
    expect(
      (await claim(4, { claimExpiresAt: new Date(Date.now() - 1_000).toISOString() })).body,
    ).toMatchObject({
      code: 'INVALID_CLAIM',
    });
  });

  it('moves a meter to ACTIVE when bootstrap says it bootstrapped, once however often it is said', async () => {
    await claim(10);
    const event = await bootstrapped(10);
    await waitUntil(async () => (await stateOf(10)) === 'ACTIVE', {
      description: 'ACTIVE',
      timeoutMs: 20_000,
    });
    const active = (await get(10)).body;
    expect(active).toMatchObject({ state: 'ACTIVE', operationalCertificateSerial: '5f3a9c' });
    const [status] = await devices.waitFor(
      (r) => r.json.deviceId === endpoint(10) && r.json.status === 'ACTIVE',
      1,
      'the ACTIVE record',
    );
    expect(status!.key).toBe(`${tenantId}/${endpoint(10)}`);

    // The same event again, and then a renewal: the first changes nothing, the second the serial.
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, event);
    await bootstrapped(10, { type: 'certificate-renewed', certificateSerial: 'abcdef' });
    await waitUntil(async () => (await get(10)).body.operationalCertificateSerial === 'abcdef', {
      description: 'the renewed serial',
    });
    expect((await get(10)).body.version).toBe(active.version + 1);
    expect(
      devices.records.filter((r) => r.json.deviceId === endpoint(10) && r.json.status === 'ACTIVE'),
    ).toHaveLength(1);
  });

  it('audits a bootstrap of an ACTIVE meter on the tenant chain, never a first bootstrap', async () => {
    const reBootstraps = (n: number) =>
      audit.records.filter(
        (r) => r.json.action === 'device.re-bootstrapped' && r.json.subject === endpoint(n),
      );
    await claim(12);
    await bootstrapped(12, { certificateSerial: 'a1' });
    await waitUntil(async () => (await stateOf(12)) === 'ACTIVE', { description: 'ACTIVE' });
    const again = await bootstrapped(12, { certificateSerial: 'b2' });
    const [record] = await audit.waitFor(
      (r) => r.json.action === 'device.re-bootstrapped' && r.json.subject === endpoint(12),
      1,
      'the re-bootstrap',
    );
    expect(record!.json).toMatchObject({
      tenantId,
      actor: 'bootstrap',
      outcome: 'allowed',
      detail: { eventId: again.eventId, certificateSerial: 'b2', previousCertificateSerial: 'a1' },
    });
    expect((await get(12)).body.operationalCertificateSerial).toBe('b2');

    // A redelivery is no second re-bootstrap. The tenant's chain is one partition, in order: once
    // the suspension's record is in, anything the redelivery or the first bootstrap wrote would be too.
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, again);
    await waitUntil(
      () => h.logs.some((line) => line.includes(again.eventId) && line.includes('"outcome":"duplicate"')),
      { description: 'the redelivery handled' },
    );
    expect((await command(12, 'suspend')).status).toBe(200);
    await audit.waitFor(
      (r) => r.json.action === 'device.suspended' && r.json.subject === endpoint(12),
      1,
      'the suspension',
    );
    expect(reBootstraps(12)).toHaveLength(1);
  });

  it('dead-letters a bootstrap event for a meter the registry does not hold, and ignores its own events', async () => {
    const unknown = await bootstrapped(99_999);
    const [dead] = await deadLetters.waitFor((r) => r.json.eventId === unknown.eventId, 1, 'the dead letter');
    expect(dead!.json.deviceId).toBe(endpoint(99_999));

    await claim(11);
    // The registry's own events (actor 'enrollment') never move a meter. Proof: a renewal after it,
    // same key so same partition and order, is refused as for a meter that is still ENROLLED.
    await bootstrapped(11, { actor: 'enrollment' });
    const renewal = await bootstrapped(11, { type: 'certificate-renewed' });
    const [refused] = await deadLetters.waitFor(
      (r) => r.json.eventId === renewal.eventId,
      1,
      'the refused renewal',
    );
    expect(refused!.json.deviceId).toBe(endpoint(11));
    expect(await stateOf(11)).toBe('ENROLLED');
  });

  it('records events that arrive together in one transaction; a refused one gets its own error and stays unprocessed', async () => {
    for (let n = 30; n < 50; n++) await claim(n);
    const recorder = h.service.app.get(RecordDeviceBootstrapUseCase);
    const transactions = h.service.app.get(Transactions);
    const run = vi.spyOn(transactions, 'run');
    try {
      const event = (n: number, overrides: Partial<DeviceLifecycleEvent> = {}) =>
        bootstrapEvent(n, { certificateSerial: `c0${n}`, ...overrides });
      const good = Array.from({ length: 20 }, (_, i) => event(30 + i));
      const unknown = event(99_998);
      const renewal = event(31, { type: 'certificate-renewed', certificateSerial: 'c0ffee' });
      const settled = await Promise.allSettled(
        [...good, unknown, good[0]!, renewal].map((e) => recorder.execute(e)),
      );
      expect(
        settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as { code: string }).code)),
      ).toEqual([...good.map(() => 'activated'), 'DEVICE_NOT_FOUND', 'duplicate', 'recorded']);
      expect(run).toHaveBeenCalledTimes(1);
      // The refused event was not marked processed: delivered again, it is judged again.
      await expect(recorder.execute(unknown)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    } finally {
      run.mockRestore();
    }
    expect(await stateOf(30)).toBe('ACTIVE');
    expect((await get(31)).body).toMatchObject({ state: 'ACTIVE', operationalCertificateSerial: 'c0ffee' });
    const statuses = await devices.waitFor(
      (r) => r.json.status === 'ACTIVE' && /-000[34]\d$/.test(String(r.json.deviceId)),
      20,
      'one ACTIVE record per meter',
    );
    expect(new Set(statuses.map((r) => r.json.deviceId)).size).toBe(20);
  });

  it('suspends, resumes and decommissions through the state machine; anything else is 409', async () => {
    await claim(20);
    const early = await command(20, 'suspend', operator);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: 'INVALID_TRANSITION',
      details: { state: 'ENROLLED', command: 'suspend' },
    });
    expect((await command(20, 'decommission')).status).toBe(409);

    await bootstrapped(20);
    await waitUntil(async () => (await stateOf(20)) === 'ACTIVE', { description: 'ACTIVE' });
    expect((await command(20, 'resume', operator)).status).toBe(409);
    expect((await command(20, 'suspend', operator)).body).toMatchObject({ state: 'SUSPENDED' });
    expect((await command(20, 'suspend', operator)).status).toBe(409);
    expect((await command(20, 'resume', operator)).body).toMatchObject({ state: 'ACTIVE' });
    expect((await command(20, 'suspend', operator)).body).toMatchObject({ state: 'SUSPENDED' });
    expect((await command(20, 'decommission', operator)).status).toBe(403);
    expect((await command(20, 'decommission')).body).toMatchObject({ state: 'DECOMMISSIONED' });
    for (const verb of ['suspend', 'resume', 'decommission'])
      expect((await command(20, verb)).body).toMatchObject({ code: 'INVALID_TRANSITION' });
    // A decommissioned meter stays so: a claim cannot revive it.
    expect((await claim(20, { certificateSha256: fingerprint('new') })).body).toMatchObject({
      code: 'DEVICE_ENROLLMENT_LOCKED',
    });

    const types = await lifecycle.waitFor(
      (r) => r.json.deviceId === endpoint(20) && r.json.actor !== 'bootstrap',
      5,
      'the lifecycle of one meter',
    );
    expect(types.map((r) => [r.json.type, r.json.state])).toEqual([
      ['claimed', 'ENROLLED'],
      ['suspended', 'SUSPENDED'],
      ['resumed', 'ACTIVE'],
      ['suspended', 'SUSPENDED'],
      ['decommissioned', 'DECOMMISSIONED'],
    ]);
    const statuses = await devices.waitFor((r) => r.json.deviceId === endpoint(20), 6, 'registry records');
    expect(statuses.map((r) => r.json.status)).toEqual([
      'ENROLLED',
      'ACTIVE',
      'SUSPENDED',
      'ACTIVE',
      'SUSPENDED',
      'DECOMMISSIONED',
    ]);
  });

  it("revokes and rotates a meter's factory credential: its record carries the change, the tenant's audit chain both", async () => {
    const own = await h.tenant('cred');
    const name = `${prefix}-CRED`;
    const path = `/v1/devices/${name}/factory-credential`;
    const ask = (method: 'POST' | 'PUT', to: string, json?: unknown) =>
      h.request<{ revokedAt: string | null; code?: string }>(method, to, { key: own.adminKey, json });
    await h.request('POST', `/v1/devices/${name}/claim`, {
      key: own.adminKey,
      json: { certificateSha256: fingerprint(name) },
    });

    const revoked = await ask('POST', `${path}/revocation`);
    expect(revoked.status).toBe(200);
    // Twice changes nothing, publishes and audits nothing.
    expect((await ask('POST', `${path}/revocation`)).body).toEqual(revoked.body);
    const [marked] = await devices.waitFor(
      (r) => r.json.tenantId === own.tenantId && r.json.credentialRevokedAt !== undefined,
      1,
      'the revoked record',
    );
    expect(marked!.json).toMatchObject({
      credential: { fingerprintSha256: fingerprint(name) },
      credentialRevokedAt: revoked.body.revokedAt,
    });

    expect((await ask('PUT', path, { certificateSha256: fingerprint(name) })).body).toMatchObject({
      code: 'CREDENTIAL_UNCHANGED',
    });
    expect((await ask('PUT', path, { pskKeyBase64: randomBytes(32).toString('base64') })).body).toMatchObject(
      { code: 'CREDENTIAL_KIND_MISMATCH' },
    );
    const rotated = await ask('PUT', path, { certificateSha256: fingerprint(`${name}-new`).toUpperCase() });
    expect(rotated.body).toMatchObject({
      credential: { fingerprintSha256: fingerprint(`${name}-new`) },
      revokedAt: null,
    });
    const [current] = await devices.waitFor(
      (r) =>
        r.json.tenantId === own.tenantId &&
        (r.json.credential as { fingerprintSha256: string }).fingerprintSha256 === fingerprint(`${name}-new`),
      1,
      'the rotated record',
    );
    expect(current!.json.credentialRevokedAt).toBeUndefined();

    await audit.waitFor(
      (r) => r.json.tenantId === own.tenantId && r.json.action === 'device.factory-credential-rotated',
      1,
      'the rotation record',
    );
    const chain = auditChainOf(audit, own.tenantId);
    expect(firstBrokenLink(chain, EMPTY_CHAIN)).toBe(-1);
    expect(chain.filter((e) => e.action.startsWith('device.factory-credential'))).toEqual([
      expect.objectContaining({ action: 'device.factory-credential-revoked', subject: name }),
      expect.objectContaining({
        action: 'device.factory-credential-rotated',
        detail: { kind: 'certificate', from: fingerprint(name), to: fingerprint(`${name}-new`) },
      }),
    ]);
  });

  it('walks every page of a filtered list exactly once', async () => {
    const paging = await h.tenant('paging');
    const rows = Array.from({ length: 250 }, (_, i) => {
      const name = `${prefix}-P${String(i).padStart(4, '0')}`;
      return `${name},${fingerprint(name)},${i % 2 ? 'EM-A' : 'EM-B'},${i < 100 ? 'batch-1' : 'batch-2'}`;
    });
    const uploaded = await h.request<{ accepted: number }>('POST', '/v1/enrollment-lists', {
      key: paging.adminKey,
      body: ['endpoint_name,certificate_sha256,model,batch_id', ...rows].join('\n'),
      contentType: 'text/csv',
    });
    expect(uploaded.body.accepted).toBe(250);

    const walk = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { body: { items: Device[]; nextCursor: string | null } } = await h.request(
          'GET',
          `/v1/devices?limit=37${query}${cursor ? `&cursor=${cursor}` : ''}`,
          {
            key: paging.adminKey,
          },
        );
        seen.push(...page.body.items.map((d) => d.endpointName));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      return { seen, pages };
    };
    const all = await walk('');
    expect(all.seen).toHaveLength(250);
    expect(new Set(all.seen).size).toBe(250);
    expect(all.seen).toEqual([...all.seen].sort());
    expect(all.pages).toBe(7);
    expect((await walk('&batchId=batch-1')).seen).toHaveLength(100);
    expect((await walk('&model=EM-A&batchId=batch-2')).seen).toHaveLength(75);
    expect((await walk('&state=ACTIVE')).seen).toHaveLength(0);
    expect((await walk('&state=ENROLLED')).seen).toHaveLength(250);
  });
});
