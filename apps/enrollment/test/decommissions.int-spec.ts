import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  DEVICE_LIFECYCLE,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type EnrollmentDecommissionRequestEvent,
} from '@meterkeep/contracts';
import { checkDocumentSignature, documentDigest } from '@meterkeep/firmware';
import { EventProducer, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { type DecommissionAnswer, DecommissionConfirmer } from '@meterkeep/service-runtime';
import { decommissionRecordSchema } from '../src/decommissions/decommission-record';
import type { DecommissionView } from '../src/decommissions/decommissions.schemas';
import { EnrollmentHarness, TopicTap, waitUntil } from './enrollment-test-kit';

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex');

describe('enrollment: decommissioning as one saga, ending in a signed record on the audit chain', () => {
  const logger = createLogger({ service: 'enrollment-decommission-it', level: 'error' });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let requests: TopicTap;
  let confirmations: TopicTap;
  let producer: EventProducer;
  const confirmers: DecommissionConfirmer[] = [];
  const prefix = `DCM-${randomBytes(4).toString('hex')}`;
  const endpoint = (n: number) => `${prefix}-${String(n).padStart(5, '0')}`;
  /** Every request the stand-in services were asked, per service. */
  const asked: Record<string, EnrollmentDecommissionRequestEvent[]> = {};

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'decommission-key-'));
    const keyFile = join(dir, 'decommission-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    h = await EnrollmentHarness.start({
      ENROLLMENT_DECOMMISSION_KEY_FILE: keyFile,
      ENROLLMENT_DECOMMISSION_RETRY_MS: '300',
    });
    ({ tenantId, adminKey } = await h.tenant());
    await ensureTopics(h.kafka, [ENROLLMENT_DECOMMISSION_REQUESTS, ENROLLMENT_DECOMMISSION_CONFIRMATIONS]);
    // The stand-in services publish as the stack's admin (their own users' ACLs are the contract's).
    producer = new EventProducer({
      kafka: h.kafka,
      logger,
      contracts: [ENROLLMENT_DECOMMISSION_CONFIRMATIONS],
    });
    await producer.connect();
    [requests, confirmations] = await Promise.all([
      TopicTap.open(h.kafka, ENROLLMENT_DECOMMISSION_REQUESTS),
      TopicTap.open(h.kafka, ENROLLMENT_DECOMMISSION_CONFIRMATIONS),
    ]);
  });
  afterAll(async () => {
    await Promise.all(confirmers.map((c) => c.beforeApplicationShutdown()));
    await Promise.all([requests, confirmations].map((tap) => tap?.close()));
    await producer?.disconnect();
    await h?.stop();
  });

  /** A stand-in for one service's step, through the shared confirmer (its own group, from the start). */
  function standIn(
    service: 'bootstrap' | 'ota-distributor' | 'privacy',
    answer: (event: EnrollmentDecommissionRequestEvent) => DecommissionAnswer,
  ): void {
    const confirmer = new DecommissionConfirmer(
      {
        service,
        instance: `${service}-it`,
        groupId: `${service}-decommissions-it-${randomBytes(5).toString('hex')}`,
        answer: (event) => {
          if (!event.deviceId.startsWith(prefix)) return { outcome: 'not-applicable', detail: 'not ours' };
          (asked[service] ??= []).push(event);
          return answer(event);
        },
      },
      h.kafka,
      producer,
      logger,
    );
    confirmers.push(confirmer);
    confirmer.onApplicationBootstrap();
  }

  const claim = (n: number) =>
    h.request('POST', `/v1/devices/${endpoint(n)}/claim`, {
      key: adminKey,
      json: { certificateSha256: fingerprint(endpoint(n)), model: 'EM-300' },
    });
  async function active(n: number): Promise<void> {
    expect((await claim(n)).status).toBe(200);
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: new Date().toISOString(),
      type: 'bootstrapped',
      deviceId: endpoint(n),
      state: 'ACTIVE',
      actor: 'bootstrap',
      certificateSerial: '5f3a9c',
    });
    await waitUntil(
      async () =>
        (await h.request<{ state: string }>('GET', `/v1/devices/${endpoint(n)}`, { key: adminKey })).body
          .state === 'ACTIVE',
      { description: `${endpoint(n)} ACTIVE` },
    );
  }
  const decommission = (n: number, key = adminKey) =>
    h.request<{ state?: string; code?: string }>('POST', `/v1/devices/${endpoint(n)}/decommission`, { key });
  const saga = (n: number, key = adminKey) =>
    h.request<DecommissionView & { code?: string }>('GET', `/v1/devices/${endpoint(n)}/decommission`, {
      key,
    });

  it('waits while a service does not confirm, asks again, and records once a retry is answered', async () => {
    standIn('bootstrap', () => ({
      outcome: 'completed',
      detail: 'operational certificates revoked and on CRL 3',
      facts: { certificatesRevokedNow: 1, crlNumber: 3 },
    }));
    // The distributor first answers pending (an execution still ending), then completed.
    let otaCalls = 0;
    standIn('ota-distributor', () =>
      ++otaCalls === 1
        ? { outcome: 'pending', detail: 'execution still ending' }
        : { outcome: 'completed', detail: '1 execution removed', facts: { executionsRemovedNow: 1 } },
    );
    await active(1);
    const started = await decommission(1);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: 'DECOMMISSIONED' });

    // privacy is down: the saga stays CONFIRMING and keeps asking (attempt 2, 3, ...), never assuming.
    await requests.waitFor(
      (r) => r.json.deviceId === endpoint(1) && Number(r.json.attempt) >= 3,
      1,
      'retries',
    );
    const waiting = await saga(1);
    expect(waiting.status).toBe(200);
    expect(waiting.body.state).toBe('CONFIRMING');
    expect(waiting.body.record).toBeNull();
    expect(waiting.body.steps).toEqual([
      expect.objectContaining({ service: 'bootstrap', outcome: 'completed' }),
      expect.objectContaining({ service: 'ota-distributor', outcome: 'completed' }),
      expect.objectContaining({ service: 'privacy', outcome: 'awaiting' }),
    ]);
    // The distributor was asked again after its pending answer.
    expect(asked['ota-distributor']!.filter((e) => e.deviceId === endpoint(1)).length).toBeGreaterThanOrEqual(
      2,
    );

    // privacy comes back: the next retry is answered and the saga completes.
    standIn('privacy', () => ({
      outcome: 'completed',
      detail: 'occupancy closed and erased',
      facts: { occupancyId: 'occ-1', policy: 'erase' },
    }));
    await waitUntil(async () => (await saga(1)).body.state === 'RECORDED', {
      description: 'RECORDED',
      timeoutMs: 60_000,
    });
    const done = (await saga(1)).body;
    expect(done.attempts).toBeGreaterThanOrEqual(3);

    // The record: schema, signature (ES256 over RFC 8785), digest, and its link into the audit chain.
    const record = decommissionRecordSchema.parse(done.record);
    expect(record).toMatchObject({
      tenantId,
      deviceId: endpoint(1),
      registry: { state: 'DECOMMISSIONED', factoryCredential: 'certificate-refused' },
    });
    expect(record.steps.map((s) => [s.service, s.outcome])).toEqual([
      ['bootstrap', 'completed'],
      ['ota-distributor', 'completed'],
      ['privacy', 'completed'],
    ]);
    expect(record.steps[0]!.facts).toEqual({ certificatesRevokedNow: 1, crlNumber: 3 });
    expect(checkDocumentSignature(record, publicKey)).toEqual({ ok: true });
    expect(checkDocumentSignature({ ...record, deviceId: endpoint(2) }, publicKey)).toMatchObject({
      ok: false,
    });
    expect(done.recordDigest).toBe(documentDigest(record));

    const stored = await h.db
      .selectFrom('audit_records')
      .select(['sequence', 'record'])
      .where('tenant_id', '=', tenantId)
      .orderBy('sequence')
      .execute();
    const chain = stored.map((row) => row.record as AuditEvent);
    const entry = chain.find((r) => r.action === 'device.decommission-recorded')!;
    expect(entry).toMatchObject({ subject: endpoint(1), sequence: done.auditSequence });
    expect(entry.detail).toMatchObject({
      decommissionId: done.decommissionId,
      recordDigest: done.recordDigest,
    });
    expect(entry.previousDigest).toBe(record.audit.chainHeadBefore.digest);
    expect(entry.sequence).toBe(record.audit.chainHeadBefore.sequence + 1);
    expect(chain.find((r) => r.action === 'device.decommissioned')?.detail).toMatchObject({
      decommissionId: done.decommissionId,
    });
    const verified = await h.request<{ intact: boolean }>('GET', '/v1/audit/verify', { key: adminKey });
    expect(verified.body).toMatchObject({ intact: true });

    // Idempotent: late answers change nothing; the record stands.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await saga(1)).body).toMatchObject({ state: 'RECORDED', recordDigest: done.recordDigest });
  });

  it('refuses: another tenant 404, an auditor 403, decommissioning again 409, no saga 404', async () => {
    await active(2);
    const other = await h.tenant('other');
    expect((await decommission(2, other.adminKey)).status).toBe(404);
    expect((await saga(2, other.adminKey)).status).toBe(404);
    const auditor = await h.key(adminKey, 'auditor');
    expect((await decommission(2, auditor)).status).toBe(403);
    expect((await saga(2)).body).toMatchObject({ code: 'DECOMMISSION_NOT_FOUND' });
    expect((await decommission(2)).status).toBe(200);
    // Every role reads the saga; another tenant still cannot.
    expect((await saga(2, auditor)).status).toBe(200);
    expect((await saga(2, other.adminKey)).status).toBe(404);
    const again = await decommission(2);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'INVALID_TRANSITION' });
    // One saga per meter: the second call started nothing.
    const rows = await h.db
      .selectFrom('decommissions')
      .selectAll()
      .where('endpoint_name', '=', endpoint(2))
      .execute();
    expect(rows).toHaveLength(1);
  });
});
