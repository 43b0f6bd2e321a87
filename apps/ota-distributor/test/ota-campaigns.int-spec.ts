import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_EVENTS,
  type AuditEvent,
  type FirmwareManifestView,
  type HttpErrorBody,
  OTA_CAMPAIGNS_V2,
  type OtaCampaignV2Event,
  type OtaCampaignView,
} from '@meterkeep/contracts';
import { type FirmwareManifest, signManifest } from '@meterkeep/firmware';
import { EnrollmentProcess, OtaHarness, TopicTap, appManifest, testKafka } from './ota-test-kit';

// Issue #13, spec §6.1 and §6.4: campaigns created as DRAFTs, submitted, approved or denied by
// someone other than their creator, on the real stack (PostgreSQL, S3Proxy, Kafka, enrollment's key
// introspection); events on ota.campaigns.v2 and the audit chain through the outbox.

const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');
type Refusal = Partial<HttpErrorBody>;
type Answer = OtaCampaignView & Refusal;

describe('ota-distributor: campaigns on the real stack', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let campaignTap: TopicTap;
  let auditTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let approver: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  const classId = `em300-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(32 * 1024);
  let m1: FirmwareManifestView;
  let m2: FirmwareManifestView;
  let sequence = 20;

  const manifest = () => appManifest({ vendorId: VENDOR, classId, image, sequenceNumber: ++sequence });
  async function accept(m: FirmwareManifest): Promise<FirmwareManifestView> {
    const signed = signManifest(m, [{ privateKey: root.privateKey }]);
    const response = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: signed.envelopeBytes,
    });
    expect(response.status).toBe(201);
    return (await response.json()) as FirmwareManifestView;
  }
  const create = (json: Record<string, unknown>, key = operator) =>
    h.request<Answer>('POST', '/v1/campaigns', {
      key,
      json: { name: `c-${rand()}`, manifestId: m1.manifestId, target: { query: {} }, ...json },
    });
  const act = (campaignId: string, verb: 'submit' | 'approve' | 'deny', key: string) =>
    h.request<Answer>('POST', `/v1/campaigns/${campaignId}/${verb}`, { key });
  const eventOf = async (campaignId: string, type: string) =>
    (
      await campaignTap.waitFor(
        (r) => r.json.campaignId === campaignId && r.json.type === type,
        1,
        `${type} of ${campaignId}`,
      )
    )[0]!;
  const auditOf = async (action: string, subject: string, outcome = 'allowed') =>
    (
      await auditTap.waitFor(
        (r) =>
          r.json.tenantId === tenantId &&
          r.json.action === action &&
          r.json.subject === subject &&
          r.json.outcome === outcome,
        1,
        `${action} of ${subject}`,
      )
    )[0]!.json as unknown as AuditEvent;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-camp');
    h = await OtaHarness.start({ enrollmentUrl: enrollment.internalUrl });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    other = await enrollment.tenant();
    [operator, approver, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    campaignTap = await TopicTap.open(testKafka(), OTA_CAMPAIGNS_V2);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    m1 = await accept(manifest());
    m2 = await accept(manifest());
  });

  afterAll(async () => {
    await campaignTap?.close();
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('creates a DRAFT with the spec defaults, published as created and audited', async () => {
    const created = await create({});
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'DRAFT',
      manifestDigest: m1.manifestDigest,
      classId,
      sequenceNumber: m1.sequenceNumber,
      createdBy: expect.stringMatching(/^key_/),
      submittedBy: null,
      decidedBy: null,
      counts: {},
      haltReason: null,
    });
    expect(
      created.body.phases.map((p) => [p.phase, p.name, p.state, p.successThresholdPercent, p.minSoakMinutes]),
    ).toEqual([
      [1, 'canary', 'PENDING', 95, 1440],
      [2, '1%', 'PENDING', 95, 1440],
      [3, '10%', 'PENDING', 95, 1440],
      [4, 'all', 'PENDING', 95, 1440],
    ]);
    expect(created.body.definition).toMatchObject({
      rollout: { maxPerMinute: 1000, perGatewayConcurrency: 50 },
      abort: [{ scope: 'phase', thresholdPercent: 5, minExecuted: 20 }],
      retry: { max: 2, backoffMinutes: 60, codes: ['DOWNLOAD_*'] },
      timeouts: { downloadMinutes: 360, installMinutes: 1440 },
    });
    const id = created.body.campaignId;
    const event = (await eventOf(id, 'created')).json as unknown as OtaCampaignV2Event;
    expect(event).toMatchObject({
      tenantId,
      manifestDigest: m1.manifestDigest,
      sequenceNumber: m1.sequenceNumber,
      actor: created.body.createdBy,
    });
    expect(await auditOf('ota.campaign-created', id)).toMatchObject({ actor: created.body.createdBy });
    const read = await h.request<Answer>('GET', `/v1/campaigns/${id}`, { key: auditor });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it('refuses bodies that break the contract, naming the field, and an auditor as creator', async () => {
    const badCron = await create({
      maintenanceWindows: [{ cron: '0 25 * * *', durationMinutes: 60, timezone: 'Europe/London' }],
    });
    expect(badCron.status).toBe(422);
    expect(badCron.body).toMatchObject({
      code: 'INVALID_CRON',
      message: expect.stringContaining('maintenanceWindows.0.cron'),
    });
    const badZone = await create({
      maintenanceWindows: [{ cron: '0 1 * * *', durationMinutes: 60, timezone: 'Mars/Olympus' }],
    });
    expect(badZone.body).toMatchObject({ code: 'INVALID_TIMEZONE' });
    const noTarget = await create({ target: {} });
    expect(noTarget.status).toBe(400);
    expect(noTarget.text).toContain('target');
    const tooManyRetries = await create({ retry: { max: 11 } });
    expect(tooManyRetries.status).toBe(400);
    expect(tooManyRetries.text).toContain('retry.max');
    const unknownField = await create({ occupancyId: 'x' });
    expect(unknownField.status).toBe(400);
    expect((await create({}, auditor)).status).toBe(403);
    const lowerRevert = await h.request<Answer>('POST', '/v1/campaigns', {
      key: operator,
      json: {
        name: 'revert lower',
        manifestId: m2.manifestId,
        target: { query: {} },
        revertOnHalt: { manifestId: m1.manifestId },
      },
    });
    expect(lowerRevert.status).toBe(422);
    expect(lowerRevert.body.code).toBe('REVERT_MANIFEST_UNFIT');
    expect((await create({ revertOnHalt: { manifestId: m2.manifestId } })).status).toBe(201);
  });

  it('approval takes a second person: the creator and auditors never approve; approve before submit is refused', async () => {
    const { body: draft } = await create({});
    const early = await act(draft.campaignId, 'approve', approver);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: 'CAMPAIGN_STATE_CONFLICT',
      message: expect.stringContaining('DRAFT'),
    });

    const submitted = await act(draft.campaignId, 'submit', operator);
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ state: 'PENDING_APPROVAL', submittedBy: draft.createdBy });

    const self = await act(draft.campaignId, 'approve', operator);
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('SAME_ACTOR');
    expect(await auditOf('ota.campaign-approved', draft.campaignId, 'refused')).toMatchObject({
      detail: { code: 'SAME_ACTOR' },
    });
    expect((await act(draft.campaignId, 'approve', auditor)).status).toBe(403);

    const approved = await act(draft.campaignId, 'approve', approver);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'APPROVED', decidedBy: expect.stringMatching(/^key_/) });
    expect(approved.body.decidedBy).not.toBe(draft.createdBy);
    for (const type of ['submitted', 'approved']) await eventOf(draft.campaignId, type);
    expect(await auditOf('ota.campaign-approved', draft.campaignId)).toMatchObject({
      actor: approved.body.decidedBy,
    });
    expect((await act(draft.campaignId, 'approve', admin)).body.code).toBe('CAMPAIGN_STATE_CONFLICT');
    expect((await act(draft.campaignId, 'deny', admin)).status).toBe(409);
  });

  it('a denied campaign is final', async () => {
    const { body: draft } = await create({});
    await act(draft.campaignId, 'submit', operator);
    const denied = await act(draft.campaignId, 'deny', admin);
    expect(denied.status).toBe(200);
    expect(denied.body.state).toBe('DENIED');
    await eventOf(draft.campaignId, 'denied');
    expect((await act(draft.campaignId, 'submit', operator)).status).toBe(409);
    expect((await act(draft.campaignId, 'approve', approver)).status).toBe(409);
  });

  it("another tenant's key reads and decides nothing: 404", async () => {
    const { body: draft } = await create({});
    await act(draft.campaignId, 'submit', operator);
    const read = await h.request<Answer>('GET', `/v1/campaigns/${draft.campaignId}`, { key: other.adminKey });
    expect(read.status).toBe(404);
    expect(read.body.code).toBe('CAMPAIGN_NOT_FOUND');
    expect((await act(draft.campaignId, 'approve', other.adminKey)).status).toBe(404);
    expect(
      (await h.request('GET', `/v1/campaigns/${draft.campaignId}`, { key: operator })).body,
    ).toMatchObject({ state: 'PENDING_APPROVAL' });
    const foreignManifest = await h.request<Answer>('POST', '/v1/campaigns', {
      key: other.adminKey,
      json: { name: 'x', manifestId: m1.manifestId, target: { query: {} } },
    });
    expect(foreignManifest.status).toBe(404);
    expect(foreignManifest.body.code).toBe('MANIFEST_NOT_FOUND');
  });
});
