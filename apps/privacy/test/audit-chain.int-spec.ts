import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, GENESIS_DIGEST, firstBrokenLink } from '@meterkeep/audit';
import { AUDIT_EVENTS, type AuditEvent } from '@meterkeep/contracts';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka, waitUntil } from './privacy-test-kit';

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
    await waitUntil(async () => (await h.outboxSize()) === 0);
  });
});
