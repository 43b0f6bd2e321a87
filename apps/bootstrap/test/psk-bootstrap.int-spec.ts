import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_LIFECYCLE, type PskNonceAnswer } from '@meterkeep/contracts';
import { parseCertificate, parseCsr, validateChain } from '@meterkeep/pki';
import {
  BootstrapHarness,
  PskProofStub,
  TopicTap,
  csrFor,
  deviceEvent,
  testRedis,
  uniqueEndpoint,
  uniqueTenant,
} from './bootstrap-test-kit';

interface Answer {
  endpointName: string;
  tenantId: string;
  certificatePem: string;
  chainPem: string[];
  code?: string;
}

/** What a PSK meter sends: HMAC-SHA256(psk, utf8(nonce) || 0x00 || sha256(csrDer)), base64. */
function proofOf(psk: Buffer, nonce: string, csrPem: string): string {
  const csrDigest = createHash('sha256').update(parseCsr(csrPem).der).digest();
  return createHmac('sha256', psk)
    .update(Buffer.concat([Buffer.from(nonce, 'utf8'), Buffer.from([0]), csrDigest]))
    .digest('base64');
}

describe('bootstrap: PSK meters, proven by HMAC over a single-use nonce', () => {
  let h: BootstrapHarness;
  let enrollment: PskProofStub;
  let lifecycle: TopicTap;
  const tenantId = uniqueTenant('psk');

  beforeAll(async () => {
    enrollment = await PskProofStub.start();
    h = await BootstrapHarness.start({ env: { ENROLLMENT_INTERNAL_URL: enrollment.url } });
    lifecycle = await TopicTap.open(h.kafka, DEVICE_LIFECYCLE);
    await h.waitCaughtUp();
  });
  afterAll(async () => {
    await lifecycle?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  /** A PSK meter enrolled at the tenant (the registry event) and known to enrollment (its key). */
  async function pskMeter(status: 'ENROLLED' | 'ACTIVE' | 'SUSPENDED' = 'ENROLLED') {
    const endpointName = uniqueEndpoint('PSK');
    const pskIdentity = `id-${endpointName.toLowerCase()}`;
    const psk = randomBytes(32);
    enrollment.enroll(pskIdentity, psk, tenantId, endpointName);
    await h.enrollDevice(deviceEvent(tenantId, endpointName, status, { kind: 'psk', pskIdentity }));
    return { endpointName, pskIdentity, psk };
  }

  const nonceFor = async (pskIdentity: string) => {
    const response = await h.device<PskNonceAnswer>('POST', '/bs/v1/psk/nonce', {
      json: { pskIdentity },
    });
    expect(response.status).toBe(200);
    return response.body;
  };

  const pskBootstrap = (body: Record<string, string>) =>
    h.device<Answer>('POST', '/bs/v1/psk/bootstrap', { json: body });

  it('bootstraps a PSK meter that proves its key over the nonce and its CSR', async () => {
    const meter = await pskMeter();
    const { nonce, expiresAt } = await nonceFor(meter.pskIdentity);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(50_000);
    const csr = csrFor(meter.endpointName);
    const response = await pskBootstrap({
      pskIdentity: meter.pskIdentity,
      nonce,
      csrPem: csr.pem,
      proof: proofOf(meter.psk, nonce, csr.pem),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ endpointName: meter.endpointName, tenantId });
    const certificate = parseCertificate(response.body.certificatePem);
    expect(certificate.subject.commonName).toBe(meter.endpointName);
    validateChain({
      leaf: certificate,
      intermediates: [parseCertificate(response.body.chainPem[0]!)],
      trustAnchors: [parseCertificate(response.body.chainPem[1]!)],
      at: new Date(),
      requiredEku: 'clientAuth',
    });
    await lifecycle.waitFor(
      (r) =>
        r.json.deviceId === meter.endpointName &&
        r.json.type === 'bootstrapped' &&
        r.json.certificateSerial === certificate.serialHex,
      1,
      'bootstrapped event',
    );
    // Enrollment was asked over mutual TLS as bootstrap (its platform certificate), never sent the key.
    const call = enrollment.calls.at(-1)!;
    expect(call.caller).toBe('bootstrap');
    expect(JSON.stringify(call.body)).not.toContain(meter.psk.toString('base64'));
  });

  it('refuses a replayed nonce: 403 NONCE_INVALID', async () => {
    const meter = await pskMeter();
    const { nonce } = await nonceFor(meter.pskIdentity);
    const csr = csrFor(meter.endpointName);
    const body = {
      pskIdentity: meter.pskIdentity,
      nonce,
      csrPem: csr.pem,
      proof: proofOf(meter.psk, nonce, csr.pem),
    };
    expect((await pskBootstrap(body)).status).toBe(200);
    const replay = await pskBootstrap(body);
    expect(replay.status).toBe(403);
    expect(replay.body).toMatchObject({ code: 'NONCE_INVALID' });
    // A nonce issued for another identity, or never issued, is refused alike.
    const other = await pskMeter();
    const foreign = await nonceFor(other.pskIdentity);
    const stolen = await pskBootstrap({
      ...body,
      nonce: foreign.nonce,
      proof: proofOf(meter.psk, foreign.nonce, csr.pem),
    });
    expect(stolen.body).toMatchObject({ code: 'NONCE_INVALID' });
    const invented = randomBytes(32).toString('base64url');
    const madeUp = await pskBootstrap({
      ...body,
      nonce: invented,
      proof: proofOf(meter.psk, invented, csr.pem),
    });
    expect(madeUp.body).toMatchObject({ code: 'NONCE_INVALID' });
  });

  it('refuses a proof made with another key: 403 BAD_PSK_PROOF, and the nonce is spent', async () => {
    const meter = await pskMeter();
    const { nonce } = await nonceFor(meter.pskIdentity);
    const csr = csrFor(meter.endpointName);
    const wrong = await pskBootstrap({
      pskIdentity: meter.pskIdentity,
      nonce,
      csrPem: csr.pem,
      proof: proofOf(randomBytes(32), nonce, csr.pem),
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'BAD_PSK_PROOF' });
    const retry = await pskBootstrap({
      pskIdentity: meter.pskIdentity,
      nonce,
      csrPem: csr.pem,
      proof: proofOf(meter.psk, nonce, csr.pem),
    });
    expect(retry.body).toMatchObject({ code: 'NONCE_INVALID' });
    // A proof over another CSR than the one sent does not verify either.
    const fresh = await nonceFor(meter.pskIdentity);
    const swapped = await pskBootstrap({
      pskIdentity: meter.pskIdentity,
      nonce: fresh.nonce,
      csrPem: csrFor(meter.endpointName).pem,
      proof: proofOf(meter.psk, fresh.nonce, csr.pem),
    });
    expect(swapped.body).toMatchObject({ code: 'BAD_PSK_PROOF' });
  });

  it('refuses a suspended PSK meter, and a CSR for another name', async () => {
    const suspended = await pskMeter('SUSPENDED');
    const first = await nonceFor(suspended.pskIdentity);
    const csr = csrFor(suspended.endpointName);
    const refused = await pskBootstrap({
      pskIdentity: suspended.pskIdentity,
      nonce: first.nonce,
      csrPem: csr.pem,
      proof: proofOf(suspended.psk, first.nonce, csr.pem),
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'DEVICE_SUSPENDED' });

    const meter = await pskMeter();
    const { nonce } = await nonceFor(meter.pskIdentity);
    const otherName = csrFor(`${meter.endpointName}-2`);
    const mismatch = await pskBootstrap({
      pskIdentity: meter.pskIdentity,
      nonce,
      csrPem: otherName.pem,
      proof: proofOf(meter.psk, nonce, otherName.pem),
    });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body).toMatchObject({ code: 'CSR_SUBJECT_MISMATCH' });
  });

  it('spends no meter’s allowance before its proof: a stranger’s nonces and bad proofs do not lock it out', async () => {
    const meter = await pskMeter();
    /** A nonce for the meter's identity, then a bootstrap with a proof made with `psk`. */
    const attempt = async (psk: Buffer) => {
      const { nonce } = await nonceFor(meter.pskIdentity);
      const csr = csrFor(meter.endpointName);
      const proof = proofOf(psk, nonce, csr.pem);
      return pskBootstrap({ pskIdentity: meter.pskIdentity, nonce, csrPem: csr.pem, proof });
    };
    // More than BOOTSTRAP_RATE_LIMIT_PER_METER (10) nonces and failed proofs naming the meter's identity.
    for (let i = 0; i < 6; i++)
      expect((await attempt(randomBytes(32))).body).toMatchObject({ code: 'BAD_PSK_PROOF' });
    const genuine = await attempt(meter.psk);
    expect(genuine.status).toBe(200);
  });

  it('tells an identity it does not know (yet) to come back: 503 NOT_YET_KNOWN', async () => {
    const pskIdentity = `id-unknown-${randomBytes(4).toString('hex')}`;
    const { nonce } = await nonceFor(pskIdentity);
    const csr = csrFor('MTR-UNKNOWN');
    const response = await pskBootstrap({
      pskIdentity,
      nonce,
      csrPem: csr.pem,
      proof: proofOf(randomBytes(32), nonce, csr.pem),
    });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('keeps nonces single-use in Redis under their hash, and logs no PSK or service key', async () => {
    const meter = await pskMeter();
    const { nonce } = await nonceFor(meter.pskIdentity);
    // KEYS is no command for the service's own Redis user: look as the machine's admin user.
    const redis = testRedis();
    try {
      const keys = await redis.keys('bootstrap:nonce:*');
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.join()).not.toContain(nonce);
      const ttls = await Promise.all(keys.map((key) => redis.ttl(key)));
      expect(ttls.every((ttl) => ttl > 0 && ttl <= 60)).toBe(true);
    } finally {
      redis.disconnect();
    }
    const logs = h.logs.join('\n');
    expect(logs).toContain('/bs/v1/psk/bootstrap');
    expect(logs).not.toContain(meter.psk.toString('base64'));
    expect(logs).not.toContain(readFileSync(h.env.SERVICE_TLS_KEY_FILE!, 'utf8').split('\n')[1]);
    expect(logs).not.toContain(h.env.BOOTSTRAP_KEK!);
    expect(logs).not.toContain(nonce);
  });
});
