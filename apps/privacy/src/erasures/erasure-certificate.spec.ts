import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainAuditEvents, EMPTY_CHAIN } from '@meterkeep/audit';
import {
  type UnsignedErasureCertificate,
  certificateDigest,
  certificateSigningBytes,
  checkAuditSegment,
  checkCertificateSignature,
  signCertificate,
} from './erasure-certificate';
import { type StoredRetention, missingConfirmers, retryDelayMs, scopeDigest } from './erasure-scope';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function certificate(): UnsignedErasureCertificate {
  const previous = chainAuditEvents(
    't1',
    EMPTY_CHAIN,
    [{ action: 'x', actor: 'a', subject: 's', outcome: 'allowed' }],
    new Date(0),
  );
  const { events } = chainAuditEvents(
    't1',
    previous.head,
    [
      { action: 'privacy.erasure-requested', actor: 'admin', subject: 'er-1', outcome: 'allowed' },
      { action: 'privacy.erasure-scoped', actor: 'saga', subject: 'er-1', outcome: 'allowed' },
    ],
    new Date(1_000),
  );
  return {
    certificateVersion: 1,
    certificateId: 'ec-1',
    tenantId: 't1',
    requestId: 'er-1',
    subjectRef: 'subj-1',
    requestedAt: '2026-12-01T00:00:00.000Z',
    keysDestroyedAt: '2026-12-01T00:00:01.000Z',
    certifiedAt: '2026-12-01T00:00:02.000Z',
    method: 'cryptographic erase',
    scope: {
      occupancies: [
        { occupancyId: 'occ-1', meterId: 'M1', validFrom: '2026-01-01T00:00:00.000Z', validTo: null },
      ],
    },
    keysDestroyed: [],
    dataInventory: { kafka: [], s3: [], postgres: [] },
    confirmations: [],
    retainedUnderException: [],
    residualCopies: [{ where: 'cache', what: 'plain data key', maxLifetimeSeconds: 60 }],
    verification: { recordsChecked: 0, decryptFailures: 0, liveKeysTried: 0, vaultAnswer: 'KEY_DESTROYED' },
    audit: {
      chainHeadBefore: previous.head,
      chainHeadAfter: { sequence: events[1]!.sequence, digest: events[1]!.digest },
      sequences: events.map((e) => e.sequence),
      records: events,
    },
  };
}

describe('erasure certificate (ES256 over RFC 8785)', () => {
  it('signs over the canonical form without the signature, and verifies with the public key', () => {
    const signed = signCertificate(certificate(), privateKey);
    expect(signed.signature.alg).toBe('ES256');
    expect(checkCertificateSignature(signed, publicKey)).toEqual({ ok: true });
    // Member order does not matter: the canonical bytes are the same.
    const reordered = Object.fromEntries(Object.entries(signed).reverse()) as typeof signed;
    expect(certificateSigningBytes(reordered).equals(certificateSigningBytes(signed))).toBe(true);
    expect(certificateDigest(signed)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('fails on a flipped byte, another key, or no signature', () => {
    const signed = signCertificate(certificate(), privateKey);
    expect(checkCertificateSignature({ ...signed, subjectRef: 'subj-2' }, publicKey).ok).toBe(false);
    expect(checkCertificateSignature(signed, other.publicKey)).toMatchObject({ ok: false });
    const { signature: _signature, ...unsigned } = signed;
    expect(checkCertificateSignature(unsigned, publicKey)).toMatchObject({ ok: false });
    const value = signed.signature.value;
    const flipped = `${value.slice(0, 10)}${value[10] === 'A' ? 'B' : 'A'}${value.slice(11)}`;
    expect(
      checkCertificateSignature({ ...signed, signature: { ...signed.signature, value: flipped } }, publicKey)
        .ok,
    ).toBe(false);
  });

  it('checks the audit chain segment: digests, links and both ends', () => {
    const good = certificate();
    expect(checkAuditSegment(good)).toEqual({ ok: true });
    const altered = certificate();
    altered.audit.records[1] = { ...altered.audit.records[1]!, actor: 'someone-else' };
    expect(checkAuditSegment(altered)).toMatchObject({ ok: false });
    const unlinked = certificate();
    unlinked.audit.chainHeadBefore = { ...unlinked.audit.chainHeadBefore, digest: '0'.repeat(64) };
    expect(checkAuditSegment(unlinked)).toMatchObject({ ok: false });
    const shortened = certificate();
    shortened.audit.records.pop();
    expect(checkAuditSegment(shortened)).toMatchObject({ ok: false });
  });
});

describe('erasure scope', () => {
  it('one digest per subject scope, whatever the order', () => {
    const r: StoredRetention = {
      purpose: 'billing',
      granularity: 'monthly',
      legalBasis: 'b',
      reference: 'r',
      retainUntil: '2030-01-01T00:00:00.000Z',
    };
    expect(scopeDigest(['a', 'b'], [r])).toBe(scopeDigest(['b', 'a'], [r]));
    expect(scopeDigest(['a', 'b'], [r])).not.toBe(scopeDigest(['a', 'b'], []));
    expect(scopeDigest(['a'], [])).not.toBe(scopeDigest(['a', 'b'], []));
  });

  it('never assumes a confirmation: a failed one does not count', () => {
    expect(
      missingConfirmers(['privacy', 'telemetry-ingest'], [{ service: 'privacy', outcome: 'completed' }]),
    ).toEqual(['telemetry-ingest']);
    expect(
      missingConfirmers(
        ['privacy', 'telemetry-ingest'],
        [
          { service: 'privacy', outcome: 'completed' },
          { service: 'telemetry-ingest', outcome: 'failed' },
        ],
      ),
    ).toEqual(['telemetry-ingest']);
    expect(missingConfirmers(['privacy'], [{ service: 'privacy', outcome: 'not-applicable' }])).toEqual([]);
  });

  it('asks again with doubling waits, at most a minute', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(2_000, n))).toEqual([2_000, 4_000, 8_000]);
    expect(retryDelayMs(2_000, 50)).toBe(60_000);
  });
});
