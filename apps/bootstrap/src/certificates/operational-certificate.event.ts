import { randomUUID } from 'node:crypto';
import type { BootstrapOperationalCertificateEvent } from '@meterkeep/contracts';

/**
 * The record of a device's current operational certificate on bootstrap.operational-certificates.v1
 * (compacted by tenant and device): `valid` when issued, `revoked` with the same serial when revoked.
 */
export function operationalCertificateEvent(certificate: {
  tenantId: string;
  deviceId: string;
  serial: string;
  notAfter: Date;
  status: BootstrapOperationalCertificateEvent['status'];
  at: Date;
}): BootstrapOperationalCertificateEvent {
  return {
    eventId: randomUUID(),
    tenantId: certificate.tenantId,
    occurredAt: certificate.at.toISOString(),
    deviceId: certificate.deviceId,
    serial: certificate.serial,
    notAfter: certificate.notAfter.toISOString(),
    status: certificate.status,
  };
}
