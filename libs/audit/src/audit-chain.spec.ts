import { createHash } from 'node:crypto';
import { AUDIT_EVENTS, validateEvent } from '@meterkeep/contracts';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_CHAIN,
  GENESIS_DIGEST,
  auditDigest,
  canonicalJson,
  chainAuditEvents,
  firstBrokenLink,
} from './audit-chain';

const at = new Date('2026-11-26T08:00:00.000Z');
const entry = (subject: string) => ({
  action: 'device.claim-refused',
  actor: 'key_abcdefghijkl',
  subject,
  outcome: 'refused' as const,
  detail: { reason: 'claimed-by-another-tenant', line: 3 },
});

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined members and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[2,1]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson('é"\n')).toBe(JSON.stringify('é"\n'));
  });
});

describe('the audit chain', () => {
  it('starts at sequence 1 from the genesis digest and links each record to the one before', () => {
    const { events, head } = chainAuditEvents(
      'utility-north',
      EMPTY_CHAIN,
      [entry('MTR-1'), entry('MTR-2')],
      at,
    );
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    expect(events[0]!.previousDigest).toBe(GENESIS_DIGEST);
    expect(events[1]!.previousDigest).toBe(events[0]!.digest);
    expect(head).toEqual({ sequence: 2, digest: events[1]!.digest });
    for (const event of events) expect(validateEvent(AUDIT_EVENTS, event)).toEqual(event);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);
  });

  it('digests the canonical JSON of the record without its digest', () => {
    const [event] = chainAuditEvents('t', EMPTY_CHAIN, [entry('MTR-1')], at).events;
    const { digest, ...rest } = event!;
    expect(digest).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    // Key order in the record does not matter, its content does.
    const reordered = Object.fromEntries(Object.entries(event!).reverse()) as typeof event;
    expect(auditDigest(reordered!)).toBe(digest);
    expect(auditDigest({ ...event!, subject: 'MTR-2' })).not.toBe(digest);
  });

  it('continues from a stored head', () => {
    const first = chainAuditEvents('t', EMPTY_CHAIN, [entry('a')], at);
    const second = chainAuditEvents('t', first.head, [entry('b')], at);
    expect(second.events[0]).toMatchObject({ sequence: 2, previousDigest: first.head.digest });
    expect(firstBrokenLink([...first.events, ...second.events], EMPTY_CHAIN)).toBe(-1);
  });

  it('finds a tampered, a reordered and a dropped record', () => {
    const { events } = chainAuditEvents('t', EMPTY_CHAIN, [entry('a'), entry('b'), entry('c')], at);
    expect(firstBrokenLink([events[0]!, { ...events[1]!, outcome: 'allowed' }, events[2]!])).toBe(1);
    expect(firstBrokenLink([events[0]!, events[2]!, events[1]!])).toBe(1);
    expect(firstBrokenLink([events[1]!, events[2]!], EMPTY_CHAIN)).toBe(0);
  });
});
