import { randomUUID } from 'node:crypto';
import type { EnrollmentTrustAnchorEvent } from '@meterkeep/contracts';
import type { ManufacturerCaRow } from '../core/database';

/** What bootstrap learns of a tenant's CA: its certificate, and whether to trust it. */
export function trustAnchorEvent(
  ca: ManufacturerCaRow,
  status: EnrollmentTrustAnchorEvent['status'],
  now: Date,
): EnrollmentTrustAnchorEvent {
  return {
    eventId: randomUUID(),
    tenantId: ca.tenant_id,
    occurredAt: now.toISOString(),
    caId: ca.ca_id,
    status,
    fingerprintSha256: ca.fingerprint_sha256,
    certificatePem: ca.certificate_pem,
  };
}
