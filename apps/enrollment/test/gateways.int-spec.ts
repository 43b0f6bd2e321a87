import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, DEVICE_LIFECYCLE, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { EnrollmentHarness, TopicTap, waitUntil } from './enrollment-test-kit';

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex');

interface Device {
  endpointName: string;
  state: string;
  gatewayId: string | null;
  code?: string;
}

describe('enrollment: a meter’s gateway (data concentrator)', () => {
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let operator: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  let devices: TopicTap;
  let audit: TopicTap;
  const prefix = `GW-${randomBytes(4).toString('hex')}`;
  const endpoint = (n: number) => `${prefix}-${String(n).padStart(5, '0')}`;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ tenantId, adminKey } = await h.tenant());
    operator = await h.key(adminKey, 'operator');
    auditor = await h.key(adminKey, 'auditor');
    other = await h.tenant('other');
    [devices, audit] = await Promise.all([
      TopicTap.open(h.kafka, ENROLLMENT_DEVICES),
      TopicTap.open(h.kafka, AUDIT_EVENTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([devices, audit].map((tap) => tap?.close()));
    await h?.stop();
  });

  const claim = async (n: number, key = adminKey, body: Record<string, unknown> = {}) => {
    const response = await h.request('POST', `/v1/devices/${endpoint(n)}/claim`, {
      key,
      json: { certificateSha256: fingerprint(`${key}:${endpoint(n)}`), ...body },
    });
    expect(response.status).toBe(200);
  };
  const assign = (n: number, gatewayId: string, key = operator) =>
    h.request<Device>('PUT', `/v1/devices/${endpoint(n)}/gateway`, { key, json: { gatewayId } });
  const unassign = (n: number, key = operator) =>
    h.request<Device>('DELETE', `/v1/devices/${endpoint(n)}/gateway`, { key });
  const get = (n: number, key = operator) => h.request<Device>('GET', `/v1/devices/${endpoint(n)}`, { key });
  /** The device's latest record on enrollment.devices.v1 once it satisfies `predicate`. */
  const record = async (n: number, predicate: (json: Record<string, unknown>) => boolean, what: string) => {
    const found = await devices.waitFor((r) => r.json.deviceId === endpoint(n) && predicate(r.json), 1, what);
    return found.at(-1)!;
  };

  it('assigns a gateway, shows it, publishes it and audits it; then takes it away', async () => {
    await claim(1);
    await claim(2);
    const assigned = await assign(1, endpoint(2));
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ endpointName: endpoint(1), gatewayId: endpoint(2) });
    expect((await get(1)).body.gatewayId).toBe(endpoint(2));
    expect((await get(2)).body.gatewayId).toBeNull();
    const page = await h.request<{ items: Device[] }>('GET', '/v1/devices', { key: auditor });
    expect(page.body.items.find((d) => d.endpointName === endpoint(1))?.gatewayId).toBe(endpoint(2));

    const published = await record(1, (json) => json.gatewayId === endpoint(2), 'record with gatewayId');
    expect(published.key).toBe(`${tenantId}/${endpoint(1)}`);
    expect(published.json).toMatchObject({ tenantId, status: 'ENROLLED' });
    const [trail] = await audit.waitFor(
      (r) => r.json.action === 'device.gateway-assigned' && r.json.subject === endpoint(1),
      1,
      'audit record',
    );
    expect(trail!.json).toMatchObject({ tenantId, outcome: 'allowed', detail: { to: endpoint(2) } });

    // The same again changes nothing.
    const before = devices.records.length;
    expect((await assign(1, endpoint(2))).status).toBe(200);

    const removed = await unassign(1);
    expect(removed.status).toBe(200);
    expect(removed.body.gatewayId).toBeNull();
    const cleared = await waitUntil(
      () => devices.records.slice(before).find((r) => r.json.deviceId === endpoint(1)),
      { timeoutMs: 30_000, description: 'the record without gateway' },
    );
    expect(cleared.json).not.toHaveProperty('gatewayId');
    expect(devices.records.slice(before).filter((r) => r.json.deviceId === endpoint(1))).toHaveLength(1);
    await audit.waitFor(
      (r) => r.json.action === 'device.gateway-unassigned' && r.json.subject === endpoint(1),
      1,
      'audit record of the removal',
    );
  });

  it('needs an API key (401) of an admin or operator (auditor: 403)', async () => {
    // '' sends no Authorization header.
    await claim(3);
    await claim(4);
    for (const response of [await assign(3, endpoint(4), ''), await unassign(3, '')]) {
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    expect((await assign(3, endpoint(4), auditor)).status).toBe(403);
    expect((await unassign(3, auditor)).status).toBe(403);
    expect((await assign(3, endpoint(4), adminKey)).status).toBe(200);
    expect((await get(3)).body.gatewayId).toBe(endpoint(4));
  });

  it("answers 404 for another tenant's device or gateway exactly as for one that does not exist", async () => {
    await claim(5);
    await claim(6);
    await claim(7, other.adminKey);
    const missing = `${prefix}-nope`;

    const foreignDevice = await assign(5, endpoint(6), other.adminKey);
    const missingDevice = await h.request('PUT', `/v1/devices/${missing}/gateway`, {
      key: other.adminKey,
      json: { gatewayId: endpoint(7) },
    });
    expect(foreignDevice.status).toBe(404);
    expect(foreignDevice.body).toMatchObject({ code: 'DEVICE_NOT_FOUND', message: 'No such device' });
    expect(foreignDevice.text).toBe(missingDevice.text);
    expect((await unassign(5, other.adminKey)).text).toBe(
      (await h.request('DELETE', `/v1/devices/${missing}/gateway`, { key: other.adminKey })).text,
    );

    const foreignGateway = await assign(5, endpoint(7));
    const missingGateway = await assign(5, missing);
    expect(foreignGateway.status).toBe(404);
    expect(foreignGateway.body).toMatchObject({ code: 'GATEWAY_NOT_FOUND' });
    expect(foreignGateway.text).toBe(missingGateway.text);
    expect((await get(5)).body.gatewayId).toBeNull();
  });

  it('refuses a device as its own gateway, and a decommissioned gateway: 422', async () => {
    await claim(8);
    const self = await assign(8, endpoint(8));
    expect(self.status).toBe(422);
    expect(self.body).toMatchObject({ code: 'GATEWAY_IS_SELF' });

    await claim(9);
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: new Date().toISOString(),
      type: 'bootstrapped',
      deviceId: endpoint(9),
      state: 'ACTIVE',
      actor: 'bootstrap',
      certificateSerial: '5f3a9c',
    });
    await waitUntil(async () => (await get(9)).body.state === 'ACTIVE', { description: 'ACTIVE' });
    const decommissioned = await h.request('POST', `/v1/devices/${endpoint(9)}/decommission`, {
      key: adminKey,
    });
    expect(decommissioned.body).toMatchObject({ state: 'DECOMMISSIONED' });
    const refused = await assign(8, endpoint(9));
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'GATEWAY_DECOMMISSIONED' });
    const malformed = await h.request('PUT', `/v1/devices/${endpoint(8)}/gateway`, {
      key: operator,
      json: { gatewayId: 'not an endpoint' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it("keeps a meter's gateway when another tenant claims the gateway's name (names are per tenant)", async () => {
    await claim(10);
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    await claim(11, adminKey, { claimExpiresAt: expiresAt });
    expect((await assign(10, endpoint(11))).status).toBe(200);
    await waitUntil(() => Date.now() > Date.parse(expiresAt) + 100, { timeoutMs: 5_000 });
    await claim(11, other.adminKey); // asserts 200

    expect((await get(10)).body.gatewayId).toBe(endpoint(11));
    expect((await get(11, other.adminKey)).body).toMatchObject({ gatewayId: null, state: 'ENROLLED' });
    expect((await get(11)).body).toMatchObject({ state: 'ENROLLED', claimExpiresAt: expiresAt });
  });
});
