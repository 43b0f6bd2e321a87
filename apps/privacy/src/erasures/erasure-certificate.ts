import { type KeyObject, createHash, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { auditDigest, firstBrokenLink } from '@meterkeep/audit';
import { type AuditEvent, auditEvent } from '@meterkeep/contracts';
import {
  type DocumentSignature,
  canonicalBytes,
  checkDocumentSignature,
  loadSigningKey,
  signDocument as signSharedDocument,
} from '@meterkeep/firmware';

/**
 * The erasure certificate (spec privacy.md §4.6): JSON, signed ES256 over its RFC 8785 canonical form
 * without the `signature` member. Nothing personal beyond the subject reference.
 */
const iso = z.string();
export const erasureCertificateSchema = z.strictObject({
  certificateVersion: z.literal(1),
  certificateId: z.string(),
  tenantId: z.string(),
  requestId: z.string(),
  subjectRef: z.string(),
  requestedAt: iso,
  keysDestroyedAt: iso,
  certifiedAt: iso,
  method: z.string(),
  scope: z.strictObject({
    occupancies: z.array(
      z.strictObject({
        occupancyId: z.string(),
        meterId: z.string(),
        validFrom: iso,
        validTo: iso.nullable(),
      }),
    ),
  }),
  keysDestroyed: z.array(
    z.strictObject({
      keyId: z.string(),
      kind: z.enum(['readings', 'retention', 'release']),
      occupancyId: z.string(),
      meterId: z.string(),
      destroyedAt: iso,
      /** sha256:<hex> of the wrapped key bytes as they were when destroyed. */
      wrappedKeyCommitment: z.string(),
      kekEpoch: z.number().int(),
    }),
  ),
  dataInventory: z.strictObject({
    kafka: z.array(
      z.strictObject({
        topic: z.string(),
        partition: z.number().int(),
        firstOffset: z.number().int(),
        lastOffset: z.number().int(),
        meterId: z.string(),
        records: z.number().int(),
        recordsUnderDestroyedKeys: z.number().int(),
      }),
    ),
    s3: z.array(
      z.strictObject({
        bucket: z.string(),
        key: z.string(),
        versionId: z.string().nullable(),
        action: z.string(),
      }),
    ),
    postgres: z.array(
      z.strictObject({ service: z.string(), table: z.string(), rows: z.number().int(), action: z.string() }),
    ),
  }),
  confirmations: z.array(
    z.strictObject({
      service: z.string(),
      instance: z.string(),
      outcome: z.enum(['completed', 'not-applicable', 'failed']),
      at: iso,
      eventId: z.string(),
    }),
  ),
  retainedUnderException: z.array(
    z.strictObject({
      occupancyId: z.string(),
      purpose: z.string(),
      granularity: z.string(),
      legalBasis: z.string(),
      reference: z.string(),
      keyId: z.string(),
      retainUntil: iso,
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
  verification: z.strictObject({
    recordsChecked: z.number().int(),
    decryptFailures: z.number().int(),
    liveKeysTried: z.number().int(),
    vaultAnswer: z.literal('KEY_DESTROYED'),
  }),
  audit: z.strictObject({
    chainHeadBefore: z.strictObject({ sequence: z.number().int(), digest: z.string() }),
    chainHeadAfter: z.strictObject({ sequence: z.number().int(), digest: z.string() }),
    sequences: z.array(z.number().int()),
    records: z.array(auditEvent),
  }),
  signature: z.strictObject({ alg: z.literal('ES256'), keyId: z.string(), value: z.string() }).optional(),
});
export type ErasureCertificate = z.infer<typeof erasureCertificateSchema>;
export type UnsignedErasureCertificate = Omit<ErasureCertificate, 'signature'>;
export type SignedErasureCertificate = ErasureCertificate & {
  signature: NonNullable<ErasureCertificate['signature']>;
};

/** The bytes the signature covers: the canonical form without the signature member. */
export function certificateSigningBytes(
  certificate: UnsignedErasureCertificate | ErasureCertificate,
): Buffer {
  const { signature: _signature, ...unsigned } = certificate as ErasureCertificate;
  return canonicalBytes(unsigned);
}

/** sha256:<hex> of the signed certificate's canonical bytes: what privacy.erasures.v1 announces. */
export function certificateDigest(certificate: SignedErasureCertificate): string {
  return `sha256:${createHash('sha256').update(canonicalBytes(certificate)).digest('hex')}`;
}

export type { DocumentSignature };

/**
 * ES256 by the certificate key over the RFC 8785 form of a document without its `signature` member:
 * erasure certificates and the retention job's batch certificates alike (@meterkeep/firmware's
 * signDocument, shared with enrollment's decommission records).
 */
export const signDocument = signSharedDocument;

export function signCertificate(
  certificate: UnsignedErasureCertificate,
  privateKey: KeyObject,
): SignedErasureCertificate {
  return signDocument(certificate, privateKey);
}

/** Reads the certificate key (PKCS#8 or SEC1 PEM, P-256); the key id is SHA-256 of its public SPKI. */
export const loadCertificateKey = loadSigningKey;

export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

export type CheckOutcome = { ok: true } | { ok: false; reason: string };

/** The signature, against a public key the verifier trusts (its id must match the certificate's). */
export function checkCertificateSignature(
  certificate: ErasureCertificate,
  publicKey: KeyObject,
): CheckOutcome {
  if (!certificate.signature) return { ok: false, reason: 'the certificate is not signed' };
  const checked = checkDocumentSignature(certificate, publicKey);
  if (!checked.ok && checked.reason.startsWith('the signature does not verify'))
    return { ok: false, reason: 'the signature does not verify over the canonical certificate' };
  return checked;
}

/**
 * The audit chain segment: every record's digest recomputes, consecutive sequences link, the first
 * names chainHeadBefore and the last is chainHeadAfter.
 */
export function checkAuditSegment(certificate: ErasureCertificate): CheckOutcome {
  const { records, chainHeadBefore, chainHeadAfter, sequences } = certificate.audit;
  if (records.length === 0) return { ok: false, reason: 'the audit segment is empty' };
  const sorted = [...records].sort((a, b) => a.sequence - b.sequence);
  for (const record of sorted) {
    if (record.tenantId !== certificate.tenantId)
      return { ok: false, reason: `audit record ${record.sequence} belongs to another tenant` };
    if (auditDigest(record) !== record.digest)
      return { ok: false, reason: `audit record ${record.sequence}: its digest does not recompute` };
  }
  // Runs of consecutive sequences must link; other tenants' actions may sit between runs.
  let run: AuditEvent[] = [];
  const runs: AuditEvent[][] = [];
  for (const record of sorted) {
    if (run.length > 0 && record.sequence !== run[run.length - 1]!.sequence + 1) {
      runs.push(run);
      run = [];
    }
    run.push(record);
  }
  runs.push(run);
  for (const part of runs) {
    const broken = firstBrokenLink(part);
    if (broken >= 0) return { ok: false, reason: `audit record ${part[broken]!.sequence}: broken link` };
  }
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  if (first.sequence !== chainHeadBefore.sequence + 1 || first.previousDigest !== chainHeadBefore.digest)
    return { ok: false, reason: 'the segment does not start at chainHeadBefore' };
  if (last.sequence !== chainHeadAfter.sequence || last.digest !== chainHeadAfter.digest)
    return { ok: false, reason: 'the segment does not end at chainHeadAfter' };
  if (sequences.join(',') !== sorted.map((r) => r.sequence).join(','))
    return { ok: false, reason: 'the listed sequences are not those of the records' };
  return { ok: true };
}
