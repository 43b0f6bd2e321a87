import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEVICE_LIFECYCLE,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type EnrollmentDecommissionRequestEvent,
} from '@meterkeep/contracts';
import { signDocument } from '@meterkeep/firmware';
import { EventProducer, ensureTopics } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { type DecommissionAnswer, DecommissionConfirmer } from '@meterkeep/service-runtime';
import { stackEndpoints } from '@meterkeep/testing';
import { runVerifyDecommission } from '../src/cli/verify-decommission-cli';
import type { DecommissionView } from '../src/decommissions/decommissions.schemas';
import { EnrollmentHarness, waitUntil } from './enrollment-test-kit';

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex');

describe('enrollment verify-decommission: the chain of custody of a real decommissioning', () => {
  const logger = createLogger({ service: 'enrollment-custody-it', level: 'error' });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privacyKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dir = mkdtempSync(join(tmpdir(), 'decommission-custody-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  let h: EnrollmentHarness;
  let tenantId: string;
  let adminKey: string;
  let producer: EventProducer;
  const confirmers: DecommissionConfirmer[] = [];
  const prefix = `DCV-${randomBytes(4).toString('hex')}`;
  const meter = `${prefix}-00001`;

  beforeAll(async () => {
    h = await EnrollmentHarness.start({
      ENROLLMENT_DECOMMISSION_KEY_FILE: file(
        'decommission-key.pem',
        privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      ),
      ENROLLMENT_DECOMMISSION_RETRY_MS: '300',
    });
    ({ tenantId, adminKey } = await h.tenant());
    await ensureTopics(h.kafka, [ENROLLMENT_DECOMMISSION_REQUESTS, ENROLLMENT_DECOMMISSION_CONFIRMATIONS]);
    producer = new EventProducer({
      kafka: h.kafka,
      logger,
      contracts: [ENROLLMENT_DECOMMISSION_CONFIRMATIONS],
    });
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.all(confirmers.map((c) => c.beforeApplicationShutdown()));
    await producer?.disconnect();
    await h?.stop();
  });

  /** A stand-in for one service's step, through the shared confirmer the services use. */
  function standIn(
    service: 'bootstrap' | 'ota-distributor' | 'privacy',
    answer: (event: EnrollmentDecommissionRequestEvent) => DecommissionAnswer,
  ): void {
    const confirmer = new DecommissionConfirmer(
      {
        service,
        instance: `${service}-it`,
        groupId: `${service}-custody-it-${randomBytes(5).toString('hex')}`,
        answer: (event) =>
          event.deviceId.startsWith(prefix)
            ? answer(event)
            : { outcome: 'not-applicable', detail: 'not ours' },
      },
      h.kafka,
      producer,
      logger,
    );
    confirmers.push(confirmer);
    confirmer.onApplicationBootstrap();
  }

  const verify = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyDecommission(args, {
      env: { DATABASE_URL: stackEndpoints().databaseUrl },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      schema: h.schema,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('verifies the signed record of a decommissioning, and fails on a changed byte or a rewritten chain', async () => {
    standIn('bootstrap', () => ({ outcome: 'completed', detail: 'revoked', facts: { crlNumber: 3 } }));
    standIn('ota-distributor', () => ({ outcome: 'not-applicable', detail: 'no execution' }));
    standIn('privacy', () => ({
      outcome: 'completed',
      detail: 'occupancy closed and erased (certificate ec-1)',
      facts: { occupancyId: 'occ-1', policy: 'erase', erasureId: 'er-1', certificateId: 'ec-1' },
    }));
    const claimed = await h.request('POST', `/v1/devices/${meter}/claim`, {
      key: adminKey,
      json: { certificateSha256: fingerprint(meter), model: 'EM-300' },
    });
    expect(claimed.status).toBe(200);
    await h.service.app.get(EventProducer).publish(DEVICE_LIFECYCLE, {
      eventId: randomUUID(),
      tenantId,
      occurredAt: new Date().toISOString(),
      type: 'bootstrapped',
      deviceId: meter,
      state: 'ACTIVE',
      actor: 'bootstrap',
      certificateSerial: '5f3a9c',
    });
    await waitUntil(
      async () =>
        (await h.request<{ state: string }>('GET', `/v1/devices/${meter}`, { key: adminKey })).body.state ===
        'ACTIVE',
      { description: `${meter} ACTIVE` },
    );
    expect((await h.request('POST', `/v1/devices/${meter}/decommission`, { key: adminKey })).status).toBe(
      200,
    );
    const view = () =>
      h.request<DecommissionView>('GET', `/v1/devices/${meter}/decommission`, { key: adminKey });
    await waitUntil(async () => (await view()).body.state === 'RECORDED', {
      description: 'RECORDED',
      timeoutMs: 60_000,
    });
    const answer = (await view()).body;

    const publicPem = file(
      'decommission-key.pub.pem',
      publicKey.export({ type: 'spki', format: 'pem' }) as string,
    );
    // The operator's view as fetched, against enrollment's database.
    const viewFile = file('decommission.json', JSON.stringify(answer));
    const ok = await verify(['--record', viewFile, '--public-key', publicPem]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`VERIFIED decommission ${answer.decommissionId}`);
    expect(ok.out).toContain(`audit sequence ${answer.auditSequence}`);
    expect(ok.out).toMatch(/ok {3}audit-chain-stored/);

    // With the erasure certificate privacy signed (here a stand-in's, signed as privacy signs).
    const certificate = signDocument(
      {
        certificateVersion: 1,
        certificateId: 'ec-1',
        tenantId,
        requestId: 'er-1',
        scope: { occupancies: [{ occupancyId: 'occ-1', meterId: meter }] },
      },
      privacyKeys.privateKey,
    );
    const certificateArgs = [
      '--erasure-certificate',
      file('certificate.json', JSON.stringify(certificate)),
      '--erasure-public-key',
      file(
        'certificate-key.pub.pem',
        privacyKeys.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      ),
    ];
    expect((await verify(['--record', viewFile, '--public-key', publicPem, ...certificateArgs])).code).toBe(
      0,
    );

    // The chain exported (JSON lines, as a raw consumer prints audit.events.v1) instead of the database.
    const stored = await h.db
      .selectFrom('audit_records')
      .select(['sequence', 'record'])
      .where('tenant_id', '=', tenantId)
      .orderBy('sequence')
      .execute();
    const exportFile = file('audit.jsonl', stored.map((r) => JSON.stringify(r.record)).join('\n'));
    const exported = await verify([
      '--record',
      viewFile,
      '--public-key',
      publicPem,
      '--audit-export',
      exportFile,
    ]);
    expect(exported.code).toBe(0);

    // One byte of the record changed: the signature no longer holds.
    const flipped = file('flipped.json', JSON.stringify(answer.record).replace(meter, `${prefix}-00002`));
    const bad = await verify(['--record', flipped, '--public-key', publicPem]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('FAILED SIGNATURE_INVALID');

    // The stored entry rewritten (its digest member kept): the chain no longer verifies.
    await sql`update audit_records set record = jsonb_set(record::jsonb, '{actor}', '"someone-else"')
              where tenant_id = ${tenantId} and sequence = ${String(answer.auditSequence)}`.execute(h.db);
    const broken = await verify(['--record', viewFile, '--public-key', publicPem]);
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('FAILED AUDIT_CHAIN_BROKEN');
  });
});
