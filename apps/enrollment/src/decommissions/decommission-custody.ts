import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { type ChainHead, auditDigest, firstBrokenLink } from '@meterkeep/audit';
import { type AuditEvent, auditEvent } from '@meterkeep/contracts';
import { checkDocumentSignature, documentDigest } from '@meterkeep/firmware';
import { DECOMMISSION_STEPS, decommissionRecordSchema } from './decommission-record';

/** Why a decommission record fails its chain of custody; the first failing check names it. */
export type CustodyFailure =
  | 'RECORD_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'AUDIT_CHAIN_BROKEN'
  | 'AUDIT_ENTRY_MISSING'
  | 'STEP_NOT_DONE'
  | 'ERASURE_CERTIFICATE_MISSING'
  | 'ERASURE_CERTIFICATE_INVALID';

export interface CustodyCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** Set when the check failed. */
  failure?: CustodyFailure;
}

export interface CustodyVerdict {
  ok: boolean;
  failure?: CustodyFailure;
  decommissionId?: string;
  recordDigest?: string;
  auditSequence?: number;
  checks: CustodyCheck[];
}

export interface CustodyInput {
  /** The record as read (the JSON of `record`, not trusted). */
  record: unknown;
  /** The decommission signing key's public half, trusted by the verifier. */
  publicKey: KeyObject;
  /**
   * Records of the tenant's enrollment audit chain: at least those after the record's
   * `chainHeadBefore` up to its `device.decommission-recorded` entry (more are checked too).
   */
  auditRecords: readonly unknown[];
  /** The privacy erasure certificate the record names, and privacy's certificate key, when given. */
  erasureCertificate?: { document: unknown; publicKey: KeyObject };
}

// Steps are read with any outcome, so a signed record holding a pending step says so (not "malformed").
const recordStep = decommissionRecordSchema.shape.steps.element.extend({ outcome: z.string() });
const readableRecord = decommissionRecordSchema.extend({ steps: z.array(recordStep) });
type ReadableRecord = z.infer<typeof readableRecord>;

const DONE = new Set(['completed', 'not-applicable']);

const certificateView = z.object({
  certificateId: z.string(),
  tenantId: z.string(),
  requestId: z.string(),
  scope: z.object({ occupancies: z.array(z.object({ occupancyId: z.string(), meterId: z.string() })) }),
});

/**
 * The chain of custody of one decommissioning, from what the verifier holds: the record's ES256
 * signature, its digest on the tenant's audit chain as `device.decommission-recorded` right after the
 * head it names, that chain segment's digests and links, every step done, and the erasure certificate
 * the privacy step names. Pure.
 */
export function verifyDecommissionCustody(input: CustodyInput): CustodyVerdict {
  const checks: CustodyCheck[] = [];
  const check = (name: string, ok: boolean, detail: string, failure: CustodyFailure) =>
    checks.push({ name, ok, detail, ...(!ok && { failure }) });
  const verdict = (extra: Partial<CustodyVerdict> = {}): CustodyVerdict => {
    const failed = checks.find((c) => !c.ok);
    return { ok: !failed, ...(failed && { failure: failed.failure }), ...extra, checks };
  };

  const parsed = readableRecord.safeParse(input.record);
  if (!parsed.success) {
    check('format', false, parsed.error.message, 'RECORD_MALFORMED');
    return verdict();
  }
  const record = parsed.data;
  const recordDigest = documentDigest(record);
  check('format', true, `record ${record.decommissionId} of ${record.deviceId}`, 'RECORD_MALFORMED');

  const signature = checkDocumentSignature(record, input.publicKey);
  check(
    'signature',
    signature.ok,
    signature.ok ? `ES256, key ${record.signature?.keyId}` : signature.reason,
    'SIGNATURE_INVALID',
  );

  const chain = checkChainSegment(record, input.auditRecords);
  check('audit-chain', chain.ok, chain.detail, chain.absent ? 'AUDIT_ENTRY_MISSING' : 'AUDIT_CHAIN_BROKEN');

  const entry = findEntry(record, recordDigest, chain.segment);
  check(
    'audit-entry',
    entry !== undefined,
    entry
      ? `device.decommission-recorded at sequence ${entry.sequence} holds ${recordDigest}`
      : `no device.decommission-recorded with ${recordDigest} follows sequence ${record.audit.chainHeadBefore.sequence}`,
    'AUDIT_ENTRY_MISSING',
  );

  const notDone = DECOMMISSION_STEPS.filter(
    (service) => !record.steps.some((s) => s.service === service && DONE.has(s.outcome)),
  );
  check(
    'steps',
    notDone.length === 0,
    notDone.length === 0
      ? record.steps.map((s) => `${s.service} ${s.outcome}`).join(', ')
      : notDone
          .map(
            (service) => `${service} ${record.steps.find((s) => s.service === service)?.outcome ?? 'absent'}`,
          )
          .join(', '),
    'STEP_NOT_DONE',
  );

  const erasure = checkErasure(record, input.erasureCertificate);
  if (erasure) check('erasure', erasure.ok, erasure.detail, erasure.failure);

  return verdict({ decommissionId: record.decommissionId, recordDigest, auditSequence: entry?.sequence });
}

/**
 * The tenant's records after `chainHeadBefore`, consecutive from there: each hashes to its digest and
 * names the one before, the first naming `chainHeadBefore` (and the record at that sequence, if given,
 * is that head).
 */
function checkChainSegment(
  record: ReadableRecord,
  auditRecords: readonly unknown[],
): { ok: boolean; detail: string; segment: AuditEvent[]; absent?: boolean } {
  const before: ChainHead = record.audit.chainHeadBefore;
  const events: AuditEvent[] = [];
  for (const raw of auditRecords) {
    const parsed = auditEvent.safeParse(raw);
    if (!parsed.success) continue; // not an audit record: nothing of the chain
    if (parsed.data.tenantId !== record.tenantId) continue;
    // Over the record as given: a member added changes its digest too.
    if (auditDigest(raw as AuditEvent) !== parsed.data.digest)
      return { ok: false, detail: `record ${parsed.data.sequence} does not hash to its digest`, segment: [] };
    events.push(parsed.data);
  }
  const head = events.find((e) => e.sequence === before.sequence);
  if (head && head.digest !== before.digest)
    return {
      ok: false,
      detail: `record ${before.sequence} is not the chain head the decommission record names`,
      segment: [],
    };
  const after = events.filter((e) => e.sequence > before.sequence).sort((a, b) => a.sequence - b.sequence);
  if (after.length === 0)
    return { ok: false, detail: `no record after sequence ${before.sequence}`, segment: [], absent: true };
  // The entry's own sequence not there at all: nothing to link, the entry is missing.
  if (after[0]!.sequence !== before.sequence + 1)
    return {
      ok: false,
      detail: `record ${before.sequence + 1} is not among those given`,
      segment: [],
      absent: true,
    };
  const gap = after.findIndex((e, i) => e.sequence !== before.sequence + 1 + i);
  const run = gap === -1 ? after : after.slice(0, gap);
  const broken = firstBrokenLink(run, before);
  if (broken >= 0)
    return {
      ok: false,
      detail: `record ${run[broken]!.sequence} does not name the digest of the record before it`,
      segment: [],
    };
  return {
    ok: true,
    detail: `sequences ${run[0]!.sequence}–${run[run.length - 1]!.sequence} link to ${before.sequence}`,
    segment: run,
  };
}

/** The entry appended with the record: right after the head it names, in the same transaction. */
function findEntry(record: ReadableRecord, digest: string, segment: readonly AuditEvent[]) {
  const entry = segment.find((e) => e.sequence === record.audit.chainHeadBefore.sequence + 1);
  return entry &&
    entry.action === 'device.decommission-recorded' &&
    entry.subject === record.deviceId &&
    entry.detail?.recordDigest === digest &&
    entry.detail?.decommissionId === record.decommissionId
    ? entry
    : undefined;
}

/**
 * When privacy erased the meter's last occupancy, its step names the erasure and its certificate; a
 * certificate given must be signed by privacy's key and be that erasure's, of that occupancy.
 */
function checkErasure(
  record: ReadableRecord,
  given: CustodyInput['erasureCertificate'],
): { ok: boolean; detail: string; failure: CustodyFailure } | undefined {
  const privacy = record.steps.find((s) => s.service === 'privacy');
  if (!privacy) return undefined;
  const { policy, erasureId, certificateId, occupancyId } = privacy.facts;
  if (policy !== 'erase' && erasureId === undefined)
    return {
      ok: true,
      detail:
        privacy.outcome === 'not-applicable'
          ? 'no occupancy to erase'
          : `not erased (policy ${String(policy ?? 'unknown')})`,
      failure: 'ERASURE_CERTIFICATE_MISSING',
    };
  if (typeof erasureId !== 'string' || typeof certificateId !== 'string')
    return {
      ok: false,
      detail: 'the privacy step erased but names no erasure certificate',
      failure: 'ERASURE_CERTIFICATE_MISSING',
    };
  if (!given)
    return {
      ok: true,
      detail: `erasure ${erasureId}, certificate ${certificateId} (not checked: none given)`,
      failure: 'ERASURE_CERTIFICATE_INVALID',
    };
  const invalid = (detail: string) => ({
    ok: false,
    detail,
    failure: 'ERASURE_CERTIFICATE_INVALID' as const,
  });
  const certificate = certificateView.safeParse(given.document);
  if (!certificate.success) return invalid('the erasure certificate given is not one');
  const signature = checkDocumentSignature(given.document as object, given.publicKey);
  if (!signature.ok) return invalid(`erasure certificate: ${signature.reason}`);
  const c = certificate.data;
  if (c.certificateId !== certificateId || c.requestId !== erasureId || c.tenantId !== record.tenantId)
    return invalid(
      `the certificate given is ${c.certificateId} of erasure ${c.requestId}, not the one named`,
    );
  if (!c.scope.occupancies.some((o) => o.occupancyId === occupancyId && o.meterId === record.deviceId))
    return invalid(`the certificate does not cover occupancy ${String(occupancyId)} of ${record.deviceId}`);
  return {
    ok: true,
    detail: `erasure ${erasureId}: certificate ${certificateId} signed by privacy and covering ${String(occupancyId)}`,
    failure: 'ERASURE_CERTIFICATE_INVALID',
  };
}
