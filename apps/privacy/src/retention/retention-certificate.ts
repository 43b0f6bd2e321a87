import { createHash } from 'node:crypto';
import { z } from 'zod';
import { auditEvent } from '@meterkeep/contracts';
import { canonicalBytes } from '@meterkeep/firmware';

/**
 * The retention-expiry job's batch certificate (spec privacy.md §4.8, `kind: retention-expiry`): the
 * keys one batch destroyed for one tenant, their commitments, the residual copies and the
 * audit records of the destructions; signed ES256 by the erasure certificate key. Nothing personal.
 */
const iso = z.string();
export const retentionCertificateSchema = z.strictObject({
  certificateVersion: z.literal(1),
  kind: z.literal('retention-expiry'),
  certificateId: z.string(),
  tenantId: z.string(),
  issuedAt: iso,
  method: z.string(),
  keysDestroyed: z.array(
    z.strictObject({
      keyId: z.string(),
      /** retention: kept past an erasure; readings: an occupancy's, its readings retention over; release: what the gate let out of it. */
      kind: z.enum(['retention', 'readings', 'release']),
      occupancyId: z.string().nullable(),
      meterId: z.string(),
      purpose: z.string(),
      retainUntil: iso,
      destroyedAt: iso,
      /** sha256:<hex> of the wrapped key bytes as they were when destroyed. */
      wrappedKeyCommitment: z.string(),
      kekEpoch: z.number().int(),
    }),
  ),
  residualCopies: z
    .array(
      z.strictObject({
        where: z.string(),
        what: z.string(),
        kekEpoch: z.number().int().optional(),
        unrecoverableAfter: iso.nullable().optional(),
        estimated: z.boolean().optional(),
        maxLifetimeSeconds: z.number().int().optional(),
      }),
    )
    .min(1),
  audit: z.strictObject({ sequences: z.array(z.number().int()), records: z.array(auditEvent) }),
  signature: z.strictObject({ alg: z.literal('ES256'), keyId: z.string(), value: z.string() }).optional(),
});
export type RetentionCertificate = z.infer<typeof retentionCertificateSchema>;

/** sha256:<hex> of the certificate's canonical bytes (signature included when it has one). */
export function retentionCertificateDigest(certificate: RetentionCertificate): string {
  return `sha256:${createHash('sha256').update(canonicalBytes(certificate)).digest('hex')}`;
}
