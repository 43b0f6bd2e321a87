import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  DEVICE_LIFECYCLE,
} from '@meterkeep/contracts';
import { parseCertificate, validateChain } from '@meterkeep/pki';
import { IssuingCaPublisher } from '../src/pki/issuing-ca-publisher';
import {
  BootstrapHarness,
  type Manufacturer,
  TopicTap,
  anchorEvent,
  csrFor,
  deviceEvent,
  factoryMeter,
  manufacturer,
  uniqueTenant,
  waitUntil,
} from './bootstrap-test-kit';

interface Answer {
  certificatePem: string;
  chainPem: string[];
  serverTrustAnchorsPem: string[];
}

describe('bootstrap publishes what operational endpoints trust meters by', () => {
  let h: BootstrapHarness;
  let certificates: TopicTap;
  let issuingCas: TopicTap;
  let oem: Manufacturer;
  let tenantId: string;

  beforeAll(async () => {
    h = await BootstrapHarness.start();
    certificates = await TopicTap.open(h.kafka, BOOTSTRAP_OPERATIONAL_CERTIFICATES);
    issuingCas = await TopicTap.open(h.kafka, BOOTSTRAP_ISSUING_CAS);
    oem = manufacturer();
    tenantId = uniqueTenant('topics');
    await h.waitCaughtUp();
    await h.trustAnchor(anchorEvent(tenantId, 'oem-factory-ca', 'TRUSTED', oem.factoryCa.certificate));
  });
  afterAll(async () => {
    await certificates?.close();
    await issuingCas?.close();
    await h?.stop();
  });

  /** An active meter of the tenant, bootstrapped: its answer and operational certificate. */
  async function bootstrappedMeter() {
    const meter = factoryMeter(oem);
    await h.enrollDevice(
      deviceEvent(tenantId, meter.endpointName, 'ACTIVE', {
        kind: 'certificate',
        fingerprintSha256: meter.certificate.fingerprintSha256,
      }),
    );
    const response = await h.device<Answer>('POST', '/bs/v1/bootstrap', {
      json: { csrPem: csrFor(meter.endpointName).pem },
      credential: meter,
    });
    expect(response.status).toBe(200);
    return { meter, answer: response.body, certificate: parseCertificate(response.body.certificatePem) };
  }

  it('publishes a bootstrapped meter’s certificate as valid, and its tenant’s issuing CA chain', async () => {
    const { meter, answer, certificate } = await bootstrappedMeter();
    expect(answer.serverTrustAnchorsPem).toEqual([h.serverCaPem]);

    const record = (
      await certificates.waitFor(
        (r) => r.json.deviceId === meter.endpointName && r.json.serial === certificate.serialHex,
        1,
        'valid certificate record',
      )
    )[0]!;
    expect(record.key).toBe(`${tenantId}/${meter.endpointName}`);
    expect(record.json).toMatchObject({
      tenantId,
      status: 'valid',
      notAfter: certificate.notAfter.toISOString(),
    });

    // The tenant's first certificate created its CAs: their record verifies the meter's certificate.
    const ca = (await issuingCas.waitFor((r) => r.json.tenantId === tenantId, 1, 'issuing CA record'))[0]!;
    expect(ca.key).toBe(tenantId);
    const chainPem = ca.json.chainPem as string[];
    expect(chainPem).toEqual(answer.chainPem);
    const chain = chainPem.map((pem) => parseCertificate(pem));
    expect(ca.json.fingerprintSha256).toBe(chain[0]!.fingerprintSha256);
    const path = validateChain({
      leaf: certificate,
      intermediates: chain.slice(0, -1),
      trustAnchors: chain.slice(-1),
      at: new Date(),
      requiredEku: 'clientAuth',
    });
    expect(path.path).toHaveLength(3);
  });

  it('publishes the same certificate as revoked once the meter is suspended', async () => {
    const { meter, certificate } = await bootstrappedMeter();
    await certificates.waitFor(
      (r) => r.json.deviceId === meter.endpointName && r.json.status === 'valid',
      1,
      'valid certificate record',
    );
    const [record] = (await h.store.devicesByEndpoint(meter.endpointName)).filter(
      (d) => d.tenantId === tenantId,
    );
    const registry = deviceEvent(tenantId, meter.endpointName, 'SUSPENDED', record!.credential);
    await h.publish(DEVICE_LIFECYCLE, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: registry.occurredAt,
      type: 'suspended',
      deviceId: meter.endpointName,
      state: 'SUSPENDED',
      actor: 'key_operator1',
    });
    const revoked = (
      await certificates.waitFor(
        (r) => r.json.deviceId === meter.endpointName && r.json.status === 'revoked',
        1,
        'revoked certificate record',
      )
    )[0]!;
    expect(revoked.key).toBe(`${tenantId}/${meter.endpointName}`);
    expect(revoked.json).toMatchObject({
      tenantId,
      serial: certificate.serialHex,
      notAfter: certificate.notAfter.toISOString(),
    });
  });

  it('publishes every tenant issuing CA again at start-up, as the same record', async () => {
    const first = (await issuingCas.waitFor((r) => r.json.tenantId === tenantId, 1, 'issuing CA record'))[0]!;
    const before = issuingCas.records.length;
    expect(await h.service.app.get(IssuingCaPublisher).republishAll()).toBeGreaterThanOrEqual(1);
    const again = await waitUntil(
      () => issuingCas.records.slice(before).find((r) => r.json.tenantId === tenantId),
      { timeoutMs: 30_000, description: 'the issuing CA record, republished' },
    );
    expect(again.json).toEqual(first.json);
  });
});
