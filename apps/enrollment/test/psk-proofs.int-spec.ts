import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentHarness } from './enrollment-test-kit';

/** What a PSK meter sends bootstrap, which asks enrollment: utf8(nonce) || 0x00 || sha256(csr). */
const message = () =>
  Buffer.concat([
    Buffer.from(randomBytes(32).toString('base64url'), 'utf8'),
    Buffer.from([0]),
    createHash('sha256').update(randomBytes(200)).digest(),
  ]);
const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest('base64');

describe('enrollment: the internal PSK proof check bootstrap relies on', () => {
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  const suffix = randomBytes(4).toString('hex');
  const endpointName = `PSK-${suffix}`;
  const pskIdentity = `psk-proof-${suffix}`;
  const psk = randomBytes(32);

  const check = (body: unknown, as: string | null = 'bootstrap') =>
    h.internal<Record<string, unknown>>('/internal/v1/psk-proofs', body, as);

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ tenantId, adminKey } = await h.tenant('psk'));
    const claimed = await h.request('POST', `/v1/devices/${endpointName}/claim`, {
      key: adminKey,
      json: { pskIdentity, pskKeyBase64: psk.toString('base64') },
    });
    expect(claimed.status).toBe(200);
  });
  afterAll(() => h?.stop());

  it('says valid, and names tenant and meter, for an HMAC made with the meter’s PSK', async () => {
    const signed = message();
    const answer = await check({ pskIdentity, message: signed.toString('base64'), proof: hmac(psk, signed) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ valid: true, tenantId, endpointName });
  });

  it('says invalid for a proof made with another key or over another message, and for an unknown identity', async () => {
    const signed = message();
    const wrongKey = await check({
      pskIdentity,
      message: signed.toString('base64'),
      proof: hmac(randomBytes(32), signed),
    });
    expect(wrongKey.status).toBe(200);
    expect(wrongKey.body).toEqual({ valid: false });
    const otherMessage = await check({
      pskIdentity,
      message: message().toString('base64'),
      proof: hmac(psk, signed),
    });
    expect(otherMessage.body).toEqual({ valid: false });
    const unknown = await check({
      pskIdentity: `nobody-${suffix}`,
      message: signed.toString('base64'),
      proof: hmac(psk, signed),
    });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ valid: false });
  });

  it('names the meter whose key verifies, when another tenant enrolled the same identity with a made-up key', async () => {
    const rival = await h.tenant('psk-rival');
    const madeUp = randomBytes(32);
    const squat = await h.request('POST', `/v1/devices/${endpointName}/claim`, {
      key: rival.adminKey,
      json: { pskIdentity, pskKeyBase64: madeUp.toString('base64') },
    });
    expect(squat.status).toBe(200);
    const signed = message();
    const genuine = await check({
      pskIdentity,
      message: signed.toString('base64'),
      proof: hmac(psk, signed),
    });
    expect(genuine.body).toEqual({ valid: true, tenantId, endpointName });
    const rivals = await check({
      pskIdentity,
      message: signed.toString('base64'),
      proof: hmac(madeUp, signed),
    });
    expect(rivals.body).toEqual({ valid: true, tenantId: rival.tenantId, endpointName });
  });

  it('answers bootstrap only: another service gets 403, no certificate fails TLS, the plain port 404', async () => {
    const signed = message();
    const body = { pskIdentity, message: signed.toString('base64'), proof: hmac(psk, signed) };
    for (const other of ['privacy', 'telemetry-ingest']) {
      const refused = await check(body, other);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'CALLER_NOT_ALLOWED' });
    }
    await expect(check(body, null)).rejects.toThrow();
    const plain = await h.request('POST', '/internal/v1/psk-proofs', { json: body, key: adminKey });
    expect(plain.status).toBe(404);
  });

  it('refuses malformed requests with 400, and never logs the PSK', async () => {
    const bad = await check({ pskIdentity, message: 'not base64!', proof: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_REQUEST' });
    const logs = h.logs.join('\n');
    expect(logs).toContain('/internal/v1/psk-proofs');
    expect(logs).not.toContain(psk.toString('base64'));
    expect(logs).not.toContain(psk.toString('hex'));
  });
});
