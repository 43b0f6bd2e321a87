import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootstrapAnswer, DEVICE_LIFECYCLE, type HttpErrorBody } from '@meterkeep/contracts';
import {
  type KeyPair,
  exportPrivateKey,
  importPrivateKey,
  parseCertificate,
  parseCrl,
  validateChain,
  verifyCrl,
} from '@meterkeep/pki';
import { KeySealer } from '../src/core/key-sealer';
import { TenantIssuers } from '../src/pki/tenant-issuers';
import {
  BootstrapHarness,
  type Manufacturer,
  type MeterCredential,
  TopicTap,
  anchorEvent,
  directivePublicKeysFile,
  csrFor,
  deviceEvent,
  factoryMeter,
  manufacturer,
  uniqueTenant,
  waitUntil,
} from './bootstrap-test-kit';

/** A 200's answer, or a refusal's code. */
type Answer = BootstrapAnswer & Partial<Pick<HttpErrorBody, 'code'>>;

describe('bootstrap: certificate meters over mutual TLS', () => {
  let h: BootstrapHarness;
  let lifecycle: TopicTap;
  let oem: Manufacturer;
  let tenantId: string;

  beforeAll(async () => {
    h = await BootstrapHarness.start();
    lifecycle = await TopicTap.open(h.kafka, DEVICE_LIFECYCLE);
    oem = manufacturer();
    tenantId = uniqueTenant('north');
    await h.waitCaughtUp();
    await h.trustAnchor(anchorEvent(tenantId, 'oem-factory-ca', 'TRUSTED', oem.factoryCa.certificate));
  });
  afterAll(async () => {
    await lifecycle?.close();
    await h?.stop();
  });

  it('bootstraps an enrolled meter: an operational certificate chaining to the returned chain, and the event', async () => {
    const meter = factoryMeter(oem);
    await h.enrollDevice(
      deviceEvent(tenantId, meter.endpointName, 'ENROLLED', {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    const csr = csrFor(meter.endpointName);
    const started = Date.now();
    const response = await h.device<Answer>('POST', '/bs/v1/bootstrap', {
      json: { csrPem: csr.pem },
      credential: meter,
    });
    expect(response.status).toBe(200);
    const answer = response.body;
    expect(answer).toMatchObject({
      endpointName: meter.endpointName,
      tenantId,
      servers: {
        telemetry: { uri: 'https://telemetry.meters.test:8444' },
        ota: { uri: 'https://ota.meters.test:8445' },
        bootstrap: { uri: 'https://bootstrap.meters.test:8443' },
      },
    });
    // The distributor's directive keys, current and next, as the meter is to pin them.
    expect(answer.servers.ota.directivePublicKeysPem).toEqual(h.directivePublicKeysPem);
    expect(answer.servers.ota.directivePublicKeysPem).toHaveLength(2);
    // Operational servers' certificates chain to the platform server CA (the listener's, here).
    expect(answer.serverTrustAnchorsPem).toEqual([h.serverCaPem]);
    const certificate = parseCertificate(answer.certificatePem);
    expect(certificate.subject.commonName).toBe(meter.endpointName);
    expect(certificate.spki.equals(parseCertificate(meter.certificate.pem).spki)).toBe(false);
    expect(answer.chainPem).toHaveLength(2);
    const path = validateChain({
      leaf: certificate,
      intermediates: [parseCertificate(answer.chainPem[0]!)],
      trustAnchors: [parseCertificate(answer.chainPem[1]!)],
      at: new Date(),
      requiredEku: 'clientAuth',
    });
    expect(path.path).toHaveLength(3);
    const validityMs = certificate.notAfter.getTime() - certificate.notBefore.getTime();
    expect(validityMs).toBe(7 * 86_400_000);
    expect(answer.renewal.notAfter).toBe(certificate.notAfter.toISOString());
    expect(Math.abs(Date.parse(answer.serverTime) - started)).toBeLessThan(10_000);
    const event = (
      await lifecycle.waitFor(
        (r) => r.json.deviceId === meter.endpointName && r.json.type === 'bootstrapped',
        1,
        'bootstrapped event',
      )
    )[0]!;
    expect(event.key).toBe(`${tenantId}/${meter.endpointName}`);
    expect(event.json).toMatchObject({
      tenantId,
      state: 'ACTIVE',
      actor: 'bootstrap',
      certificateSerial: certificate.serialHex,
    });
  });

  /** A meter of `from`, enrolled at `tenant` with `status` (its factory certificate's fingerprint). */
  async function enrolledMeter(
    from: Manufacturer = oem,
    tenant = tenantId,
    status: 'ENROLLED' | 'ACTIVE' = 'ENROLLED',
    validity: Parameters<typeof factoryMeter>[2] = {},
  ) {
    const meter = factoryMeter(from, undefined, validity);
    await h.enrollDevice(
      deviceEvent(tenant, meter.endpointName, status, {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    return meter;
  }
  const csrKeys = new Map<string, KeyPair>();
  const lastCsrKey = (endpointName: string) => csrKeys.get(endpointName)!;
  /** Bootstraps with a CSR for a new key (kept for the operational credential), or the CSR given. */
  const bootstrap = (
    meter: MeterCredential,
    csr: string | ReturnType<typeof csrFor> = csrFor(meter.endpointName),
  ) => {
    if (typeof csr !== 'string') csrKeys.set(meter.endpointName, csr.key);
    const csrPem = typeof csr === 'string' ? csr : csr.pem;
    return h.device<Answer>('POST', '/bs/v1/bootstrap', { json: { csrPem }, credential: meter });
  };

  /** The log record of a refusal before authentication, for the certificate with this fingerprint. */
  const refusalLogged = (fingerprintSha256: string) =>
    waitUntil(
      () =>
        h.logs
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find(
            (r) => r.audit === 'bootstrap.certificate-refused' && r.fingerprintSha256 === fingerprintSha256,
          ),
      { timeoutMs: 5_000, description: 'the refusal in the log' },
    );

  it('refuses to start when OTA_DIRECTIVE_PUBLIC_KEYS_FILE holds anything but one or two P-256 public keys', async () => {
    const tooMany = directivePublicKeysFile(3);
    await expect(
      BootstrapHarness.start({ env: { OTA_DIRECTIVE_PUBLIC_KEYS_FILE: tooMany } }),
    ).rejects.toThrow(/OTA_DIRECTIVE_PUBLIC_KEYS_FILE: .* holds 3 keys; at most 2/);
  });

  it('refuses a meter whose CA no tenant trusts: 403 CERTIFICATE_INVALID (UNKNOWN_CA in the log)', async () => {
    const stranger = manufacturer('Unknown OEM');
    const meter = factoryMeter(stranger);
    await h.enrollDevice(
      deviceEvent(tenantId, meter.endpointName, 'ENROLLED', {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    const response = await bootstrap(meter);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ code: 'CERTIFICATE_INVALID' });
    expect(await refusalLogged(meter.certificate.fingerprintSha256)).toMatchObject({ reason: 'UNKNOWN_CA' });
  });

  it('refuses a meter whose CA its tenant disabled: 403 CERTIFICATE_INVALID (CA_DISABLED in the log)', async () => {
    const disabledOem = manufacturer('Disabled OEM');
    const meter = await enrolledMeter(disabledOem);
    await h.trustAnchor(anchorEvent(tenantId, 'disabled-oem', 'TRUSTED', disabledOem.factoryCa.certificate));
    await h.trustAnchor(anchorEvent(tenantId, 'disabled-oem', 'DISABLED', disabledOem.factoryCa.certificate));
    const response = await bootstrap(meter);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ code: 'CERTIFICATE_INVALID' });
    expect(await refusalLogged(meter.certificate.fingerprintSha256)).toMatchObject({ reason: 'CA_DISABLED' });
  });

  it('answers every refusal before authentication byte for byte the same, and logs each reason apart', async () => {
    const unknownCa = factoryMeter(manufacturer('Nobody trusts this OEM'));
    // No tenant trusts the first; the second chains to a CA a tenant trusts, but has expired.
    const expired = await enrolledMeter(oem, tenantId, 'ENROLLED', {
      notBefore: new Date(Math.floor((Date.now() - 10 * 86_400_000) / 1000) * 1000),
      notAfter: new Date(Math.floor((Date.now() - 86_400_000) / 1000) * 1000),
    });
    const answers = [await bootstrap(unknownCa), await bootstrap(expired)];
    for (const answer of answers) expect(answer.status).toBe(403);
    expect(answers[0]!.text).toBe(answers[1]!.text);
    expect(answers[0]!.body).toMatchObject({
      code: 'CERTIFICATE_INVALID',
      message: 'The client certificate is not trusted for bootstrap',
    });
    const logged = [
      await refusalLogged(unknownCa.certificate.fingerprintSha256),
      await refusalLogged(expired.certificate.fingerprintSha256),
    ];
    expect(logged.map((r) => r.reason)).toEqual(['UNKNOWN_CA', 'CERTIFICATE_EXPIRED']);
  });

  it('tells a meter that is not enrolled (yet) to come back: 503 NOT_YET_KNOWN with Retry-After', async () => {
    const meter = factoryMeter(oem);
    const response = await bootstrap(meter);
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    // Enrolled a moment later, the same meter gets in.
    await h.enrollDevice(
      deviceEvent(tenantId, meter.endpointName, 'ENROLLED', {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    expect((await bootstrap(meter)).status).toBe(200);
  });

  it('answers a meter enrolled only by tenants not trusting its CA as one nobody enrolled: 503 NOT_YET_KNOWN', async () => {
    const rival = uniqueTenant('rival');
    await h.trustAnchor(
      anchorEvent(rival, 'rival-oem', 'TRUSTED', manufacturer('Rival OEM').factoryCa.certificate),
    );
    const meter = await enrolledMeter(oem, rival);
    const response = await bootstrap(meter);
    const nobodys = await bootstrap(factoryMeter(oem));
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
    expect(response.text).toBe(nobodys.text);
    expect(response.headers['retry-after']).toBe(nobodys.headers['retry-after']);
  });

  it('gives a meter to the tenant trusting its CA, whatever other tenants enrolled under its name first', async () => {
    const squatter = uniqueTenant('squatter');
    const copier = uniqueTenant('copier');
    await h.trustAnchor(
      anchorEvent(squatter, 'squatter-oem', 'TRUSTED', manufacturer('Squatter OEM').factoryCa.certificate),
    );
    const meter = factoryMeter(oem);
    const enroll = (tenant: string, fingerprintSha256: string, at = new Date()) =>
      h.enrollDevice(
        deviceEvent(
          tenant,
          meter.endpointName,
          'ENROLLED',
          { kind: 'certificate', fingerprintSha256 },
          { occurredAt: at.toISOString(), enrolledAt: at.toISOString() },
        ),
      );
    // Before the meter's utility enrolls it: a made-up fingerprint, and the genuine one (copied),
    // under tenants that never proved the meter's CA. Neither blocks it for good.
    await enroll(squatter, randomBytes(32).toString('hex'), new Date(Date.now() - 60_000));
    await enroll(copier, meter.certificate.fingerprintSha256, new Date(Date.now() - 50_000));
    expect((await bootstrap(meter)).body).toMatchObject({ code: 'NOT_YET_KNOWN' });

    await enroll(tenantId, meter.certificate.fingerprintSha256);
    const response = await bootstrap(meter);
    expect(response.status).toBe(200);
    expect(response.body.tenantId).toBe(tenantId);
  });

  it('among tenants trusting the same CA and naming the same certificate, gives the meter to the first to enroll it', async () => {
    const later = uniqueTenant('later');
    await h.trustAnchor(anchorEvent(later, 'same-oem', 'TRUSTED', oem.factoryCa.certificate));
    const meter = factoryMeter(oem);
    const enroll = (tenant: string, at: Date) =>
      h.enrollDevice(
        deviceEvent(
          tenant,
          meter.endpointName,
          'ENROLLED',
          { kind: 'certificate', fingerprintSha256: meter.certificate.fingerprintSha256 },
          { enrolledAt: at.toISOString() },
        ),
      );
    await enroll(tenantId, new Date(Date.now() - 60_000));
    // Enrolled later, and published last (the newest record): still not the holder.
    await enroll(later, new Date());
    const response = await bootstrap(meter);
    expect(response.status).toBe(200);
    expect(response.body.tenantId).toBe(tenantId);
  });

  it('refuses an expired factory certificate: 403 CERTIFICATE_INVALID (CERTIFICATE_EXPIRED in the log)', async () => {
    const now = Date.now();
    const meter = await enrolledMeter(oem, tenantId, 'ENROLLED', {
      notBefore: new Date(Math.floor((now - 10 * 86_400_000) / 1000) * 1000),
      notAfter: new Date(Math.floor((now - 86_400_000) / 1000) * 1000),
    });
    const response = await bootstrap(meter);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ code: 'CERTIFICATE_INVALID' });
    expect(await refusalLogged(meter.certificate.fingerprintSha256)).toMatchObject({
      reason: 'CERTIFICATE_EXPIRED',
    });
  });

  it('refuses a CSR whose subject is not the endpoint name: 403 CSR_SUBJECT_MISMATCH', async () => {
    const meter = await enrolledMeter();
    const response = await bootstrap(meter, csrFor(`${meter.endpointName}-X`));
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ code: 'CSR_SUBJECT_MISMATCH' });
    // …and one that would certify the factory key again.
    const sameKey = await bootstrap(meter, csrFor(meter.endpointName, meter.key));
    expect(sameKey.status).toBe(403);
    expect(sameKey.body).toMatchObject({ code: 'CSR_KEY_UNSUPPORTED' });
    const garbage = await bootstrap(
      meter,
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    );
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('refuses a certificate that is not the one enrolled for the meter: 403 FINGERPRINT_MISMATCH', async () => {
    const meter = await enrolledMeter();
    const impostor = factoryMeter(oem, meter.endpointName);
    const response = await bootstrap(impostor);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
  });

  it('needs a client certificate: 401 CLIENT_CERTIFICATE_REQUIRED', async () => {
    const response = await h.device('POST', '/bs/v1/bootstrap', { json: { csrPem: csrFor('MTR-X').pem } });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED' });
  });

  it('refuses a suspended meter, revokes its certificate, and lets it back in once resumed', async () => {
    const meter = await enrolledMeter(oem, tenantId, 'ACTIVE');
    const first = await bootstrap(meter);
    expect(first.status).toBe(200);
    const serial = parseCertificate(first.body.certificatePem).serialHex;
    // The tenant's current CRL, stored and served until it nears its nextUpdate: the revocation
    // must reissue it, not wait for that.
    expect((await currentCrl()).entries.has(BigInt(`0x${serial}`))).toBe(false);

    await suspend(meter.endpointName, 'SUSPENDED', 'suspended');
    const refused = await bootstrap(meter);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'DEVICE_SUSPENDED' });
    await waitForCrlListing(serial);

    await suspend(meter.endpointName, 'ACTIVE', 'resumed');
    const again = await bootstrap(meter);
    expect(again.status).toBe(200);
    expect(parseCertificate(again.body.certificatePem).serialHex).not.toBe(serial);
  });

  it('renews an active meter with its operational certificate, and refuses once decommissioning revoked it', async () => {
    const meter = await enrolledMeter(oem, tenantId, 'ACTIVE');
    const first = await bootstrap(meter);
    expect(first.status).toBe(200);
    const operational = operationalCredential(meter.endpointName, first.body);

    const renewal = await h.device<Answer>('POST', '/bs/v1/renew', {
      json: { csrPem: csrFor(meter.endpointName, operational.key).pem },
      credential: operational,
    });
    expect(renewal.status).toBe(200);
    const renewed = parseCertificate(renewal.body.certificatePem);
    expect(renewed.serialHex).not.toBe(operational.certificate.serialHex);
    expect(renewed.subject.commonName).toBe(meter.endpointName);
    await lifecycle.waitFor(
      (r) =>
        r.json.deviceId === meter.endpointName &&
        r.json.type === 'certificate-renewed' &&
        r.json.certificateSerial === renewed.serialHex,
      1,
      'certificate-renewed event',
    );
    // A factory certificate is no operational one.
    const wrongCredential = await h.device('POST', '/bs/v1/renew', {
      json: { csrPem: csrFor(meter.endpointName).pem },
      credential: meter,
    });
    expect(wrongCredential.status).toBe(403);
    expect(wrongCredential.body).toMatchObject({ code: 'CERTIFICATE_INVALID' });

    await suspend(meter.endpointName, 'DECOMMISSIONED', 'decommissioned');
    const crl = await waitForCrlListing(operational.certificate.serialHex);
    expect(crl.entries.get(renewed.serial)).toBeDefined();
    const revoked = await h.device('POST', '/bs/v1/renew', {
      json: { csrPem: csrFor(meter.endpointName).pem },
      credential: operational,
    });
    expect(revoked.status).toBe(403);
    expect(revoked.body).toMatchObject({ code: 'CERTIFICATE_REVOKED' });
    const back = await bootstrap(meter);
    expect(back.status).toBe(403);
    expect(back.body).toMatchObject({ code: 'DEVICE_DECOMMISSIONED' });
  });

  it('limits attempts per meter: 429 RATE_LIMITED with Retry-After', async () => {
    // A genuine meter, not enrolled yet, that retries far faster than it is told to.
    const eager = factoryMeter(oem);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await bootstrap(eager)).status);
    expect(statuses.slice(0, 10).every((s) => s === 503)).toBe(true);
    expect(statuses[10]).toBe(429);
    const limited = await bootstrap(eager);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // A certificate made up with its name is refused for what it is: only proven meters are counted.
    const forged = factoryMeter(manufacturer('Forger'), eager.endpointName);
    expect((await bootstrap(forged)).body).toMatchObject({ code: 'CERTIFICATE_INVALID' });
  });

  it('lets an ACTIVE meter bootstrap again only BOOTSTRAP_REBOOTSTRAP_PER_HOUR (3) times an hour, and logs each', async () => {
    const meter = await enrolledMeter(oem, tenantId, 'ACTIVE');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await bootstrap(meter)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await bootstrap(meter);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(60);
    await waitUntil(
      () =>
        h.logs.filter(
          (line) => line.includes(meter.endpointName) && line.includes('an ACTIVE meter bootstraps again'),
        ).length === 3,
    );
  });

  it('serves the device API on the TLS listener only, and health and the server CA on the plain one', async () => {
    expect((await fetch(`${h.url}/health/ready`)).status).toBe(200);
    const plain = await fetch(`${h.url}/bs/v1/bootstrap`, { method: 'POST', body: '{}' });
    expect(plain.status).toBe(404);
    expect((await h.device('GET', '/health/ready')).status).toBe(404);
    const ca = await fetch(`${h.url}/bs/v1/server-ca`);
    expect(ca.status).toBe(200);
    expect(await ca.text()).toBe(h.serverCaPem);
    expect((await h.device<string>('GET', '/bs/v1/server-ca')).body).toBe(h.serverCaPem);
    const docs = await fetch(`${h.url}/docs-json`);
    expect(Object.keys(((await docs.json()) as { paths: object }).paths)).toEqual(
      expect.arrayContaining([
        '/bs/v1/bootstrap',
        '/bs/v1/renew',
        '/bs/v1/psk/nonce',
        '/bs/v1/psk/bootstrap',
      ]),
    );
  });

  it('logs no key or KEK', async () => {
    const row = await h.db
      .selectFrom('tenant_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const sealer = new KeySealer(h.config.BOOTSTRAP_KEK);
    const issuingKey = sealer.open(
      { ciphertext: row.issuing_key_ciphertext, iv: row.issuing_key_iv, tag: row.issuing_key_tag },
      `tenant-ca:${tenantId}:issuing`,
    );
    const issuingPem = exportPrivateKey(importPrivateKey(issuingKey), 'pem') as string;
    const pemBody = issuingPem.split('\n').slice(1, -2).join('');
    // Sealed at rest: the stored bytes are not the key.
    expect(row.issuing_key_ciphertext.includes(issuingKey.subarray(0, 24))).toBe(false);
    const logs = h.logs.join('\n');
    expect(logs).toContain('operational certificate issued');
    for (const secret of [
      h.env.BOOTSTRAP_KEK!,
      h.config.BOOTSTRAP_KEK.toString('hex'),
      readFileSync(h.env.SERVICE_TLS_KEY_FILE!, 'utf8').split('\n')[1]!,
      pemBody.slice(0, 40),
      issuingKey.toString('base64').slice(0, 40),
      issuingKey.toString('hex').slice(0, 40),
      'PRIVATE KEY',
    ])
      expect(logs).not.toContain(secret);
  });

  /** Moves a meter in the registry and says so on the lifecycle topic, as enrollment does. */
  async function suspend(
    endpointName: string,
    status: 'SUSPENDED' | 'ACTIVE' | 'DECOMMISSIONED',
    type: 'suspended' | 'resumed' | 'decommissioned',
  ) {
    const [record] = (await h.store.devicesByEndpoint(endpointName)).filter((d) => d.tenantId === tenantId);
    const registry = deviceEvent(tenantId, endpointName, status, record!.credential);
    await h.publish(DEVICE_LIFECYCLE, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: registry.occurredAt,
      type,
      deviceId: endpointName,
      state: status,
      actor: 'key_operator1',
    });
    await h.enrollDevice(registry);
  }

  /** The tenant's CRL as a relying party fetches it, signature checked against the issuing CA. */
  async function currentCrl() {
    const response = await fetch(`${h.url}/bs/v1/tenants/${tenantId}/crl`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pkix-crl');
    const crl = parseCrl(Buffer.from(await response.arrayBuffer()));
    const pki = await h.service.app.get(TenantIssuers).forTenant(tenantId);
    verifyCrl(crl, pki.issuing);
    expect(crl.nextUpdate.getTime() - crl.thisUpdate.getTime()).toBe(24 * 3_600_000);
    return crl;
  }

  async function waitForCrlListing(serialHex: string) {
    return waitUntil(
      async () => {
        const crl = await currentCrl();
        return crl.entries.has(BigInt(`0x${serialHex}`)) ? crl : undefined;
      },
      { timeoutMs: 30_000, description: `serial ${serialHex} on the CRL` },
    );
  }

  /** The meter's credential after bootstrap: its new key and the operational certificate (+ issuing CA). */
  function operationalCredential(endpointName: string, answer: Answer) {
    return {
      endpointName,
      key: lastCsrKey(endpointName),
      certificate: parseCertificate(answer.certificatePem),
      chainPem: [answer.chainPem[0]!],
    };
  }
});
