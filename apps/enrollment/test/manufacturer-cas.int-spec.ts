import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, ENROLLMENT_TRUST_ANCHORS } from '@meterkeep/contracts';
import {
  type CertificateAuthority,
  createIntermediateCa,
  createRootCa,
  generateKeyPair,
  issueCertificate,
} from '@meterkeep/pki';
import { EnrollmentHarness, TopicTap } from './enrollment-test-kit';

const HOUR = 3_600_000;
const validity = (years: number) => ({
  notBefore: new Date(Date.now() - HOUR),
  notAfter: new Date(Date.now() + years * 365 * 24 * HOUR),
});

/** A manufacturer's PKI: root → factory intermediate (the CA a utility registers). */
function manufacturerPki(name: string) {
  const root = createRootCa({
    subject: { organization: name, commonName: `${name} Root` },
    validity: validity(20),
    pathLen: 1,
  });
  const factory = createIntermediateCa(root, {
    subject: { organization: name, commonName: `${name} Factory CA` },
    validity: validity(10),
    pathLen: 0,
  });
  return { root, factory };
}

/** What the CA holder sends back: a certificate the CA signed, with CN = the verification code. */
function proofFor(ca: CertificateAuthority, commonName: string, notAfter = new Date(Date.now() + HOUR)) {
  return issueCertificate({
    issuer: ca,
    profile: 'factory-device',
    subject: { commonName },
    subjectPublicKey: generateKeyPair().publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
  }).pem;
}

function opensslP384Ca(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'enrollment-it-'));
  try {
    const result = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-384',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-subj',
        '/CN=P-384 CA',
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:true',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    return result.status === 0 ? readFileSync(join(dir, 'c.pem'), 'utf8') : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Registered {
  caId: string;
  status: string;
  verificationCode: string;
  verificationExpiresAt: string;
  fingerprintSha256: string;
}

describe('enrollment: manufacturer CAs with proof of possession', () => {
  let h: EnrollmentHarness;
  let adminKey: string;
  let tenantId: string;
  let anchors: TopicTap;
  let audit: TopicTap;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ adminKey, tenantId } = await h.tenant());
    [anchors, audit] = await Promise.all([
      TopicTap.open(h.kafka, ENROLLMENT_TRUST_ANCHORS),
      TopicTap.open(h.kafka, AUDIT_EVENTS),
    ]);
  });
  afterAll(async () => {
    await Promise.all([anchors?.close(), audit?.close()]);
    await h?.stop();
  });

  const register = (pem: string, key = adminKey) =>
    h.request<Registered>('POST', '/v1/manufacturer-cas', { key, json: { certificatePem: pem } });
  const verify = (caId: string, pem: string, key = adminKey) =>
    h.request<Record<string, unknown>>('POST', `/v1/manufacturer-cas/${caId}/verification`, {
      key,
      json: { certificatePem: pem },
    });

  it('trusts a CA once its holder proves possession, and tells bootstrap', async () => {
    const { factory } = manufacturerPki('Acme Meters');
    const registered = await register(factory.certificate.pem);
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      status: 'PENDING_VERIFICATION',
      verificationCode: expect.stringMatching(/^[0-9a-f]{32}$/),
      fingerprintSha256: factory.certificate.fingerprintSha256,
    });
    const expiresIn = Date.parse(registered.body.verificationExpiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(59 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(HOUR);
    const { caId, verificationCode } = registered.body;

    const verified = await verify(caId, proofFor(factory, verificationCode));
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ caId, status: 'TRUSTED', verifiedAt: expect.any(String) });
    expect(JSON.stringify(verified.body)).not.toContain(verificationCode);

    const [event] = await anchors.waitFor((r) => r.json.caId === caId, 1, 'TRUSTED anchor');
    expect(event!.key).toBe(`${tenantId}/${caId}`);
    expect(event!.json).toMatchObject({
      tenantId,
      caId,
      status: 'TRUSTED',
      fingerprintSha256: factory.certificate.fingerprintSha256,
      certificatePem: factory.certificate.pem,
    });
    const listed = await h.request<{ items: { caId: string; status: string }[] }>(
      'GET',
      '/v1/manufacturer-cas',
      {
        key: adminKey,
      },
    );
    expect(listed.body.items).toContainEqual(expect.objectContaining({ caId, status: 'TRUSTED' }));
    // Proven once is enough: the code cannot be used again, and re-registering is refused.
    expect((await verify(caId, proofFor(factory, verificationCode))).body).toMatchObject({
      code: 'CA_NOT_PENDING_VERIFICATION',
    });
    expect((await register(factory.certificate.pem)).status).toBe(409);
  });

  it('refuses a proof whose CN is not the code, and one the CA did not sign, and audits both', async () => {
    const { root, factory } = manufacturerPki('Bravo Meters');
    const impostor = manufacturerPki('Impostor');
    const { body } = await register(factory.certificate.pem);

    const wrongCn = await verify(body.caId, proofFor(factory, 'f'.repeat(32)));
    expect(wrongCn.status).toBe(400);
    expect(wrongCn.body).toMatchObject({ code: 'VERIFICATION_CODE_MISMATCH' });

    const signedElsewhere = await verify(body.caId, proofFor(impostor.factory, body.verificationCode));
    expect(signedElsewhere.status).toBe(400);
    expect(signedElsewhere.body).toMatchObject({ code: 'VERIFICATION_CERTIFICATE_REJECTED' });

    // The root above the registered CA is not the registered CA either.
    const signedByRoot = await verify(body.caId, proofFor(root, body.verificationCode));
    expect(signedByRoot.body).toMatchObject({ code: 'VERIFICATION_CERTIFICATE_REJECTED' });

    const expiredProof = await verify(
      body.caId,
      proofFor(factory, body.verificationCode, new Date(Date.now() - 1_000)),
    );
    expect(expiredProof.body).toMatchObject({
      code: 'VERIFICATION_CERTIFICATE_REJECTED',
      details: { reason: 'EXPIRED' },
    });

    const refused = await audit.waitFor(
      (r) => r.json.action === 'ca.verification-refused' && r.json.subject === body.caId,
      4,
      'refused verifications',
    );
    expect(refused.map((r) => r.json.outcome)).toEqual(['refused', 'refused', 'refused', 'refused']);
    expect(
      (await h.request('GET', `/v1/manufacturer-cas/${body.caId}`, { key: adminKey })).body,
    ).toMatchObject({
      status: 'PENDING_VERIFICATION',
    });
    expect(anchors.records.filter((r) => r.json.caId === body.caId)).toEqual([]);
  });

  it('refuses an expired verification code, and issues a new one when the CA is registered again', async () => {
    const { factory } = manufacturerPki('Charlie Meters');
    const first = (await register(factory.certificate.pem)).body;
    await h.db
      .updateTable('manufacturer_cas')
      .set({ verification_expires_at: new Date(Date.now() - 1_000) })
      .where('ca_id', '=', first.caId)
      .execute();
    const late = await verify(first.caId, proofFor(factory, first.verificationCode));
    expect(late.status).toBe(400);
    expect(late.body).toMatchObject({ code: 'VERIFICATION_CODE_EXPIRED' });

    const again = await register(factory.certificate.pem);
    expect(again.status).toBe(201);
    expect(again.body.caId).toBe(first.caId);
    expect(again.body.verificationCode).not.toBe(first.verificationCode);
    // The old code is dead, the new one works.
    expect((await verify(first.caId, proofFor(factory, first.verificationCode))).body).toMatchObject({
      code: 'VERIFICATION_CODE_MISMATCH',
    });
    expect((await verify(first.caId, proofFor(factory, again.body.verificationCode))).status).toBe(200);
  });

  it('refuses a certificate that is not a CA, one that is not P-256, and one that is not a certificate', async () => {
    const { factory } = manufacturerPki('Delta Meters');
    const leaf = proofFor(factory, 'MTR-000001');
    const notCa = await register(leaf);
    expect(notCa.status).toBe(400);
    expect(notCa.body).toMatchObject({ code: 'CERTIFICATE_NOT_A_CA' });

    const garbage = await register('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ code: 'CERTIFICATE_MALFORMED' });
    expect((await register('hello')).body).toMatchObject({ code: 'CERTIFICATE_MALFORMED' });
    expect((await register(`${factory.certificate.pem}${factory.certificate.pem}`)).body).toMatchObject({
      code: 'CERTIFICATE_MALFORMED',
    });
  });

  const p384 = opensslP384Ca();
  it.skipIf(!p384)('refuses a CA whose key is not P-256 (a P-384 CA made by openssl)', async () => {
    const refused = await register(p384!);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'CERTIFICATE_KEY_NOT_P256' });
  });

  it('disables a trusted CA and publishes DISABLED, so its meters can no longer bootstrap', async () => {
    const { factory } = manufacturerPki('Echo Meters');
    const { body } = await register(factory.certificate.pem);
    await verify(body.caId, proofFor(factory, body.verificationCode));
    const operator = await h.key(adminKey, 'operator');
    expect(
      (await h.request('POST', `/v1/manufacturer-cas/${body.caId}/disable`, { key: operator })).status,
    ).toBe(403);

    const disabled = await h.request('POST', `/v1/manufacturer-cas/${body.caId}/disable`, { key: adminKey });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ status: 'DISABLED', disabledAt: expect.any(String) });
    const events = await anchors.waitFor((r) => r.json.caId === body.caId, 2, 'TRUSTED then DISABLED');
    expect(events.map((r) => r.json.status)).toEqual(['TRUSTED', 'DISABLED']);
    expect(events.every((r) => r.key === `${tenantId}/${body.caId}`)).toBe(true);
    // Idempotent.
    expect(
      (await h.request('POST', `/v1/manufacturer-cas/${body.caId}/disable`, { key: adminKey })).status,
    ).toBe(200);
  });

  it("keeps trust per tenant: another utility proves the same OEM CA for itself, and cannot see this tenant's", async () => {
    const { factory } = manufacturerPki('Foxtrot Meters');
    const mine = (await register(factory.certificate.pem)).body;
    const other = await h.tenant('other');
    const theirs = await register(factory.certificate.pem, other.adminKey);
    expect(theirs.status).toBe(201);
    expect(theirs.body.caId).not.toBe(mine.caId);

    const missing = await h.request('GET', '/v1/manufacturer-cas/00000000-0000-4000-8000-000000000000', {
      key: other.adminKey,
    });
    const foreign = await h.request('GET', `/v1/manufacturer-cas/${mine.caId}`, { key: other.adminKey });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await verify(mine.caId, proofFor(factory, mine.verificationCode), other.adminKey)).status).toBe(
      404,
    );
    expect(
      (await h.request('POST', `/v1/manufacturer-cas/${mine.caId}/disable`, { key: other.adminKey })).status,
    ).toBe(404);
  });
});
