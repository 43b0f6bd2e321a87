import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, auditDigest, chainAuditEvents } from '@meterkeep/audit';
import type { AuditEvent } from '@meterkeep/contracts';
import { documentDigest, signDocument } from '@meterkeep/firmware';
import { parseAuditExport } from '../cli/verify-decommission-cli';
import { verifyDecommissionCustody } from './decommission-custody';
import {
  type StepConfirmation,
  type UnsignedDecommissionRecord,
  decommissionRecord,
} from './decommission-record';

const at = new Date('2026-12-03T10:00:00.000Z');
const tenantId = 'utility-north';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privacyKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const step = (
  service: string,
  outcome: StepConfirmation['outcome'],
  facts: StepConfirmation['facts'] = { n: 1 },
): StepConfirmation => ({
  service,
  instance: `${service}-0`,
  outcome,
  attempt: 1,
  detail: 'done',
  facts,
  eventId: `ev-${service}`,
  confirmedAt: at,
});
const erased = { occupancyId: 'occ-1', policy: 'erase', erasureId: 'er-1', certificateId: 'ec-1' };

/** A chain of two earlier records, the record signed over its head, and its entry appended. */
function scenario(
  privacyFacts: StepConfirmation['facts'] = erased,
  edit = (r: UnsignedDecommissionRecord) => r,
  appended: { action?: string; digest?: string } = {},
) {
  const earlier = chainAuditEvents(
    tenantId,
    EMPTY_CHAIN,
    [
      { action: 'device.claimed', actor: 'key_1', subject: 'MTR-0001', outcome: 'allowed' },
      { action: 'device.decommissioned', actor: 'key_1', subject: 'MTR-0001', outcome: 'allowed' },
    ],
    at,
  );
  const record = signDocument(
    edit(
      decommissionRecord({
        decommissionId: 'dc-1',
        tenantId,
        deviceId: 'MTR-0001',
        requestedBy: 'key_1',
        requestedAt: at,
        credentialKind: 'certificate',
        attempts: 1,
        confirmations: [
          step('bootstrap', 'completed'),
          step('ota-distributor', 'not-applicable'),
          step('privacy', 'completed', privacyFacts),
        ],
        chainHeadBefore: earlier.head,
        now: at,
      }),
    ),
    privateKey,
  );
  const entry = chainAuditEvents(
    tenantId,
    earlier.head,
    [
      {
        action: appended.action ?? 'device.decommission-recorded',
        actor: 'decommission-saga',
        subject: 'MTR-0001',
        outcome: 'allowed',
        detail: {
          decommissionId: 'dc-1',
          recordDigest: appended.digest ?? documentDigest(record),
          signingKeyId: 'k',
          attempts: 1,
        },
      },
      { action: 'device.claimed', actor: 'key_1', subject: 'MTR-0002', outcome: 'allowed' },
    ],
    at,
  );
  return { record, chain: [...earlier.events, ...entry.events] };
}

const certificate = (overrides: Record<string, unknown> = {}) =>
  signDocument(
    {
      certificateVersion: 1,
      certificateId: 'ec-1',
      tenantId,
      requestId: 'er-1',
      scope: { occupancies: [{ occupancyId: 'occ-1', meterId: 'MTR-0001', validFrom: at.toISOString() }] },
      ...overrides,
    },
    privacyKeys.privateKey,
  );

describe('verifyDecommissionCustody', () => {
  it('holds for a signed record whose entry follows its chain head, every step done', () => {
    const { record, chain } = scenario();
    const verdict = verifyDecommissionCustody({ record, publicKey, auditRecords: chain });
    expect(verdict).toMatchObject({ ok: true, decommissionId: 'dc-1', auditSequence: 3 });
    expect(verdict.checks.map((c) => [c.name, c.ok])).toEqual([
      ['format', true],
      ['signature', true],
      ['audit-chain', true],
      ['audit-entry', true],
      ['steps', true],
      ['erasure', true],
    ]);
    expect(verdict.checks.at(-1)!.detail).toContain('not checked');
  });

  it('refuses a flipped byte in the record', () => {
    const { record, chain } = scenario();
    const text = JSON.stringify(record).replace('MTR-0001', 'MTR-0007');
    const verdict = verifyDecommissionCustody({ record: JSON.parse(text), publicKey, auditRecords: chain });
    expect(verdict).toMatchObject({ ok: false, failure: 'SIGNATURE_INVALID' });
  });

  it('refuses a record checked against another key', () => {
    const { record, chain } = scenario();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(verifyDecommissionCustody({ record, publicKey: other, auditRecords: chain })).toMatchObject({
      ok: false,
      failure: 'SIGNATURE_INVALID',
    });
  });

  it('refuses a record whose entry is not on the chain', () => {
    const { record, chain } = scenario();
    const without = chain.filter((e) => e.action !== 'device.decommission-recorded');
    expect(verifyDecommissionCustody({ record, publicKey, auditRecords: without })).toMatchObject({
      ok: false,
      failure: 'AUDIT_ENTRY_MISSING',
    });
    // Only the records before it: no entry at all.
    expect(verifyDecommissionCustody({ record, publicKey, auditRecords: chain.slice(0, 2) })).toMatchObject({
      ok: false,
      failure: 'AUDIT_ENTRY_MISSING',
    });
    // An intact chain whose record after the head holds another digest, or is another action.
    for (const appended of [{ digest: `sha256:${'0'.repeat(64)}` }, { action: 'device.claimed' }]) {
      const other = scenario(erased, (r) => r, appended);
      expect(
        verifyDecommissionCustody({ record: other.record, publicKey, auditRecords: other.chain }),
      ).toMatchObject({ ok: false, failure: 'AUDIT_ENTRY_MISSING' });
    }
  });

  it('refuses a tampered chain: a changed record, or one re-hashed that no longer links', () => {
    const { record, chain } = scenario();
    const changed = chain.map((e) => (e.sequence === 3 ? { ...e, detail: { ...e.detail, attempts: 9 } } : e));
    expect(verifyDecommissionCustody({ record, publicKey, auditRecords: changed })).toMatchObject({
      ok: false,
      failure: 'AUDIT_CHAIN_BROKEN',
    });
    // The head the record names rewritten (and re-hashed): its digest is no longer the one named.
    const rewritten = chain.map((e) => (e.sequence === 2 ? rehash({ ...e, actor: 'someone-else' }) : e));
    expect(verifyDecommissionCustody({ record, publicKey, auditRecords: rewritten })).toMatchObject({
      ok: false,
      failure: 'AUDIT_CHAIN_BROKEN',
    });
    // The record after the entry re-hashed over a changed link.
    const relinked = chain.map((e) =>
      e.sequence === 4 ? rehash({ ...e, previousDigest: 'f'.repeat(64) }) : e,
    );
    expect(verifyDecommissionCustody({ record, publicKey, auditRecords: relinked })).toMatchObject({
      ok: false,
      failure: 'AUDIT_CHAIN_BROKEN',
    });
  });

  it('refuses a signed record holding a pending step', () => {
    const { record, chain } = scenario(erased, (r) => ({
      ...r,
      steps: r.steps.map((s) =>
        s.service === 'bootstrap' ? { ...s, outcome: 'pending' as 'completed' } : s,
      ),
    }));
    const verdict = verifyDecommissionCustody({ record, publicKey, auditRecords: chain });
    expect(verdict).toMatchObject({ ok: false, failure: 'STEP_NOT_DONE' });
    expect(verdict.checks.find((c) => c.name === 'steps')!.detail).toBe('bootstrap pending');
  });

  it('wants the erasure certificate named when privacy erased, and checks one given', () => {
    const { record: unnamed, chain: unnamedChain } = scenario({ occupancyId: 'occ-1', policy: 'erase' });
    expect(
      verifyDecommissionCustody({ record: unnamed, publicKey, auditRecords: unnamedChain }),
    ).toMatchObject({
      ok: false,
      failure: 'ERASURE_CERTIFICATE_MISSING',
    });
    const { record: retained, chain: retainedChain } = scenario({ occupancyId: 'occ-1', policy: 'retain' });
    expect(
      verifyDecommissionCustody({ record: retained, publicKey, auditRecords: retainedChain }),
    ).toMatchObject({
      ok: true,
    });

    const { record, chain } = scenario();
    const given = (document: unknown, key = privacyKeys.publicKey) =>
      verifyDecommissionCustody({
        record,
        publicKey,
        auditRecords: chain,
        erasureCertificate: { document, publicKey: key },
      });
    expect(given(certificate())).toMatchObject({ ok: true });
    expect(given(certificate(), publicKey)).toMatchObject({
      ok: false,
      failure: 'ERASURE_CERTIFICATE_INVALID',
    });
    expect(given({ ...certificate(), requestId: 'er-2' })).toMatchObject({
      ok: false,
      failure: 'ERASURE_CERTIFICATE_INVALID',
    });
    expect(given(certificate({ certificateId: 'ec-2' }))).toMatchObject({
      ok: false,
      failure: 'ERASURE_CERTIFICATE_INVALID',
    });
  });

  it('reads an audit export as a JSON array or as JSON lines', () => {
    const { chain } = scenario();
    expect(parseAuditExport(JSON.stringify(chain))).toEqual(chain);
    expect(parseAuditExport(`${chain.map((e) => JSON.stringify(e)).join('\n')}\n`)).toEqual(chain);
  });
});

/** A record re-hashed after a change: its own digest holds again (a forger's first step). */
function rehash(event: AuditEvent): AuditEvent {
  return { ...event, digest: auditDigest(event) };
}
