import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BootstrapAnswer,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type HttpErrorBody,
} from '@meterkeep/contracts';
import { parseCertificate, parseCrl, verifyCrl } from '@meterkeep/pki';
import { TenantIssuers } from '../src/pki/tenant-issuers';
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
} from './bootstrap-test-kit';

type Answer = BootstrapAnswer & Partial<Pick<HttpErrorBody, 'code'>>;

describe("bootstrap: its step of a meter's decommissioning (real PostgreSQL, Redis, Kafka)", () => {
  let h: BootstrapHarness;
  let confirmations: TopicTap;
  let oem: Manufacturer;
  let tenantId: string;

  beforeAll(async () => {
    h = await BootstrapHarness.start();
    confirmations = await TopicTap.open(h.kafka, ENROLLMENT_DECOMMISSION_CONFIRMATIONS);
    oem = manufacturer();
    tenantId = uniqueTenant('decom');
    await h.waitCaughtUp();
    await h.trustAnchor(anchorEvent(tenantId, 'oem-factory-ca', 'TRUSTED', oem.factoryCa.certificate));
  });
  afterAll(async () => {
    await confirmations?.close();
    await h?.stop();
  });

  it('revokes the operational certificate onto the CRL, and confirms only once the factory credential is refused', async () => {
    const meter = factoryMeter(oem);
    const credential = {
      kind: 'certificate' as const,
      fingerprintSha256: meter.certificate.fingerprintSha256,
    };
    await h.enrollDevice(deviceEvent(tenantId, meter.endpointName, 'ENROLLED', credential));
    const issued = await h.device<Answer>('POST', '/bs/v1/bootstrap', {
      json: { csrPem: csrFor(meter.endpointName).pem },
      credential: meter,
    });
    expect(issued.status).toBe(200);
    const serial = parseCertificate(issued.body.certificatePem).serial;

    const decommissionId = `dc-${randomUUID()}`;
    const ask = (attempt: number) =>
      h.publish(ENROLLMENT_DECOMMISSION_REQUESTS, {
        eventId: randomUUID(),
        tenantId,
        occurredAt: new Date().toISOString(),
        decommissionId,
        attempt,
        deviceId: meter.endpointName,
        decommissionedAt: new Date().toISOString(),
      });
    const answerTo = async (attempt: number) => {
      const [record] = await confirmations.waitFor(
        (r) => r.json.decommissionId === decommissionId && r.json.attempt === attempt,
        1,
        `the answer to attempt ${attempt}`,
        60_000,
      );
      return record!.json;
    };

    // Asked before the registry's DECOMMISSIONED status reached bootstrap: certificates go at once, the
    // step stays pending (the factory credential is not yet refused here).
    await ask(1);
    expect(await answerTo(1)).toMatchObject({
      service: 'bootstrap',
      deviceId: meter.endpointName,
      outcome: 'pending',
      facts: { certificatesRevokedNow: 1 },
    });
    const crl = await currentCrl();
    expect(crl.entries.get(serial)).toBeDefined();

    // The status arrives; asked again, the step holds and is confirmed (nothing left to revoke).
    await h.enrollDevice(deviceEvent(tenantId, meter.endpointName, 'DECOMMISSIONED', credential));
    await ask(2);
    const done = await answerTo(2);
    expect(done).toMatchObject({
      outcome: 'completed',
      facts: { certificatesRevokedNow: 0, factoryCredential: 'refused', crlNumber: Number(crl.crlNumber) },
    });
    const row = await h.db
      .selectFrom('issued_certificates')
      .select(['revoked_at', 'revocation_reason'])
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', '=', meter.endpointName)
      .executeTakeFirstOrThrow();
    expect(row.revocation_reason).toBe('cessationOfOperation');
    // The factory credential is refused.
    const again = await h.device<Answer>('POST', '/bs/v1/bootstrap', {
      json: { csrPem: csrFor(meter.endpointName).pem },
      credential: meter,
    });
    expect(again.status).toBe(403);
    expect(again.body).toMatchObject({ code: 'DEVICE_DECOMMISSIONED' });
  });

  async function currentCrl() {
    const response = await fetch(`${h.url}/bs/v1/tenants/${tenantId}/crl`);
    expect(response.status).toBe(200);
    const crl = parseCrl(Buffer.from(await response.arrayBuffer()));
    verifyCrl(crl, (await h.service.app.get(TenantIssuers).forTenant(tenantId)).issuing);
    return crl;
  }
});
