import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, GENESIS_DIGEST, firstBrokenLink } from '@meterkeep/audit';
import {
  AUDIT_EVENTS,
  type AuditChainVerification,
  type AuditEvent,
  auditChainVerification,
} from '@meterkeep/contracts';
import { waitUntil } from '@meterkeep/testing';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka } from './privacy-test-kit';

describe("privacy: the tenant's audit chain", () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let auditTap: TopicTap;
  let north: { tenantId: string; adminKey: string };
  let south: { tenantId: string; adminKey: string };
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-AC-${run}-${n}`;

  const open = async (tenant: { adminKey: string }, n: number) => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: tenant.adminKey,
      json: { meterId: meter(n), subjectRef: `hh-${run}-${n}`, from: '2026-01-01T00:00:00.000Z' },
    });
    expect(opened.status).toBe(201);
    return opened.body;
  };
  /** Privacy's audit records of a tenant, in the order Kafka delivered them (enrollment's are its own chain). */
  const privacyRecords = async (tenantId: string, count: number) => {
    const records = await auditTap.waitFor(
      (r) => r.json.tenantId === tenantId && String(r.json.action).startsWith('privacy.'),
      count,
      `privacy audit records of ${tenantId}`,
    );
    expect(records.every((r) => r.key === tenantId)).toBe(true);
    return records.map((r) => r.json as unknown as AuditEvent);
  };

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    h = await PrivacyHarness.start({ enrollmentUrl: enrollment.internalUrl });
    [north, south] = await Promise.all([enrollment.tenant('pvchain'), enrollment.tenant('pvchain')]);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
  });
  afterAll(async () => {
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it("chains one tenant's records: sequences 1, 2, 3, 4, each naming the digest of the one before", async () => {
    const first = await open(north, 1);
    const second = await open(north, 2);
    const closed = await h.request('POST', `/v1/occupancies/${first.occupancyId}/close`, {
      key: north.adminKey,
      json: { to: '2026-02-01T00:00:00.000Z' },
    });
    expect(closed.status).toBe(200);
    expect(
      (await h.request('POST', `/v1/data-keys/${second.keyId}/destroy`, { key: north.adminKey })).status,
    ).toBe(200);

    const events = await privacyRecords(north.tenantId, 4);
    expect(events.map((e) => [e.sequence, e.action, e.subject])).toEqual([
      [1, 'privacy.occupancy-opened', first.occupancyId],
      [2, 'privacy.occupancy-opened', second.occupancyId],
      [3, 'privacy.occupancy-closed', first.occupancyId],
      [4, 'privacy.data-key-destroyed', second.keyId],
    ]);
    expect(events[0]!.previousDigest).toBe(GENESIS_DIGEST);
    for (let i = 1; i < events.length; i++) expect(events[i]!.previousDigest).toBe(events[i - 1]!.digest);
    expect(firstBrokenLink(events, EMPTY_CHAIN)).toBe(-1);

    const head = await h.db
      .selectFrom('audit_chain_heads')
      .selectAll()
      .where('tenant_id', '=', north.tenantId)
      .executeTakeFirstOrThrow();
    expect({ sequence: Number(head.sequence), digest: head.digest }).toEqual({
      sequence: 4,
      digest: events[3]!.digest,
    });
  });

  it('keeps a separate chain per tenant, in turn under concurrent requests', async () => {
    await Promise.all([open(south, 11), open(south, 12), open(south, 13)]);
    await open(north, 3);

    const southEvents = await privacyRecords(south.tenantId, 3);
    expect(southEvents.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(southEvents[0]!.previousDigest).toBe(GENESIS_DIGEST);
    expect(firstBrokenLink(southEvents, EMPTY_CHAIN)).toBe(-1);

    const northEvents = await privacyRecords(north.tenantId, 5);
    expect(northEvents.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(northEvents[4]).toMatchObject({
      subject: expect.any(String),
      previousDigest: northEvents[3]!.digest,
    });
    expect(firstBrokenLink(northEvents, EMPTY_CHAIN)).toBe(-1);
    // The relay deletes rows in the transaction that saw Kafka's ack, so a consumer may be first.
    await waitUntil(async () => (await h.outboxSize()) === 0, { description: 'an empty outbox' });
  });

  describe('GET /v1/audit/verify', () => {
    let east: { tenantId: string; adminKey: string };
    let west: { tenantId: string; adminKey: string };
    let eastAuditor: string;
    const verify = async (key: string, query = '') => {
      const answer = await h.request<AuditChainVerification>('GET', `/v1/audit/verify${query}`, { key });
      expect(answer.status, answer.text).toBe(200);
      return auditChainVerification.parse(answer.body);
    };
    /** A stored record's JSON text, as PostgreSQL holds it. */
    const storedText = async (tenantId: string, sequence: number) =>
      (
        await sql<{ text: string }>`select record::text as text from audit_records
          where tenant_id = ${tenantId} and sequence = ${sequence}`.execute(h.db)
      ).rows[0]!.text;
    const storeText = (tenantId: string, sequence: number, text: string) =>
      sql`update audit_records set record = ${text}::jsonb
        where tenant_id = ${tenantId} and sequence = ${sequence}`.execute(h.db);

    beforeAll(async () => {
      [east, west] = await Promise.all([enrollment.tenant('pvverify'), enrollment.tenant('pvverify')]);
      eastAuditor = await enrollment.key(east.tenantId, 'auditor');
      for (const n of [21, 22, 23]) await open(east, n);
      for (const n of [31, 32]) await open(west, n);
    });

    it("recomputes an intact chain: every record of the tenant's, up to its head (auditors read it)", async () => {
      const head = await h.db
        .selectFrom('audit_chain_heads')
        .select(['sequence', 'digest'])
        .where('tenant_id', '=', east.tenantId)
        .executeTakeFirstOrThrow();
      expect(await verify(eastAuditor)).toEqual({
        tenantId: east.tenantId,
        intact: true,
        from: 1,
        to: 3,
        verified: 3,
        head: { sequence: 3, digest: head.digest },
        anchor: { sequence: 0, digest: GENESIS_DIGEST },
      });
      expect(await verify(eastAuditor, '?from=2&to=3')).toMatchObject({
        intact: true,
        from: 2,
        to: 3,
        verified: 2,
      });
      expect(await verify(eastAuditor, '?to=2')).toMatchObject({ intact: true, to: 2, verified: 2 });
    });

    it('finds one flipped byte in a stored record, at its sequence', async () => {
      const original = await storedText(east.tenantId, 2);
      const subject = (JSON.parse(original) as AuditEvent).subject;
      const flipped = subject.slice(0, -1) + (subject.endsWith('0') ? '1' : '0');
      await storeText(east.tenantId, 2, original.replace(subject, flipped));
      try {
        const answer = await verify(east.adminKey);
        expect(answer).toMatchObject({ intact: false, verified: 1, to: 1 });
        expect(answer.firstBreak).toMatchObject({ sequence: 2, reason: 'digest-mismatch' });
      } finally {
        await storeText(east.tenantId, 2, original);
      }
      expect(await verify(east.adminKey)).toMatchObject({ intact: true, verified: 3 });
    });

    it('finds a deleted record, and one cut off the end', async () => {
      for (const sequence of [2, 3]) {
        const original = await storedText(east.tenantId, sequence);
        await sql`delete from audit_records where tenant_id = ${east.tenantId} and sequence = ${sequence}`.execute(
          h.db,
        );
        try {
          const answer = await verify(east.adminKey);
          expect(answer).toMatchObject({ intact: false, verified: sequence - 1 });
          expect(answer.firstBreak).toMatchObject({ sequence, reason: 'missing-record' });
        } finally {
          await sql`insert into audit_records (tenant_id, sequence, record)
            values (${east.tenantId}, ${sequence}, ${original}::jsonb)`.execute(h.db);
        }
      }
      expect(await verify(east.adminKey)).toMatchObject({ intact: true, verified: 3 });
    });

    it("never reads another tenant's chain, and refuses its record in the tenant's place", async () => {
      // West's chain broken: east's answer does not change, west's names the break.
      const westFirst = await storedText(west.tenantId, 1);
      await storeText(
        west.tenantId,
        1,
        westFirst.replace('privacy.occupancy-opened', 'privacy.occupancy-closed'),
      );
      try {
        expect(await verify(east.adminKey)).toMatchObject({
          tenantId: east.tenantId,
          intact: true,
          verified: 3,
        });
        expect((await verify(west.adminKey)).firstBreak).toMatchObject({
          sequence: 1,
          reason: 'digest-mismatch',
        });
      } finally {
        await storeText(west.tenantId, 1, westFirst);
      }
      expect(await verify(west.adminKey)).toMatchObject({
        tenantId: west.tenantId,
        intact: true,
        verified: 2,
      });

      // West's intact record copied over east's: valid on its own, but not east's.
      const eastFirst = await storedText(east.tenantId, 1);
      await storeText(east.tenantId, 1, westFirst);
      try {
        expect((await verify(east.adminKey)).firstBreak).toMatchObject({
          sequence: 1,
          reason: 'misplaced-record',
        });
      } finally {
        await storeText(east.tenantId, 1, eastFirst);
      }
    });

    it('refuses a bad range (400) and a caller without a key (401)', async () => {
      const backwards = await h.request('GET', '/v1/audit/verify?from=3&to=2', { key: east.adminKey });
      expect(backwards.status).toBe(400);
      expect(backwards.body).toMatchObject({ code: 'INVALID_REQUEST' });
      expect((await h.request('GET', '/v1/audit/verify?from=x', { key: east.adminKey })).status).toBe(400);
      expect((await h.request('GET', '/v1/audit/verify')).status).toBe(401);
    });
  });
});
