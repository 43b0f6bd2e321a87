import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirmwareCompliance, FirmwareManifestView, OtaCheckInAnswer } from '@meterkeep/contracts';
import { signManifest, signReceipt } from '@meterkeep/firmware';
import { EnrollmentProcess, OtaHarness, appManifest } from './ota-test-kit';

// Spec §6.9: compliance per class as Azure Device Update counts it (on latest, update in progress, new
// update available), judged from install receipts against the highest-sequence live manifest.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const VENDOR = 'acme-meters';
const rand = () => randomBytes(3).toString('hex');

describe('ota-distributor: firmware compliance per device class', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let otherAdmin: string;
  const classId = `em300-${rand()}`;
  const bareClass = `em100-${rand()}`;
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const image = randomBytes(8 * 1024);
  const manifests = new Map<number, FirmwareManifestView>();
  const ids = Array.from({ length: 4 }, (_, i) => `MTR-cmp-${rand()}-${i}`);
  const [onLatest, onOlder, inProgress, untouched] = ids as [string, string, string, string];

  const compliance = async (key: string, query = '') =>
    h.request<FirmwareCompliance>('GET', `/v1/compliance${query}`, { key });

  /** A deployment of `sequence` to one meter; the meter checks in, and confirms by receipt if asked. */
  const deploy = async (deviceId: string, sequence: number, confirm: boolean) => {
    const manifest = manifests.get(sequence)!;
    const created = await h.request('POST', '/v1/firmware/deployments', {
      key: operator,
      json: { manifestId: manifest.manifestId, deviceIds: [deviceId] },
    });
    expect(created.status, created.text).toBe(201);
    const meter = h.meter(tenantId, deviceId);
    const device = h.device(meter);
    const answer = await device.checkIn({ installed: 'none', seq: '0', slot: 'A' });
    expect(answer.status).toBe(200);
    const directive = (answer.body as unknown as OtaCheckInAnswer).directive?.directive as
      { executionId: string; nonce: string } | undefined;
    expect(directive).toBeDefined();
    if (!confirm) return;
    const receipt = signReceipt(
      {
        deviceId,
        executionId: directive!.executionId,
        manifestDigest: manifest.manifestDigest,
        sequenceNumber: manifest.sequenceNumber,
        bootedSlot: 'B',
        bootedImageDigests: { app: sha256(image) },
        confirmedAt: new Date().toISOString(),
        nonce: directive!.nonce,
      },
      meter.privateKey,
    );
    expect((await device.receipt(directive!.executionId, receipt)).status).toBe(200);
  };

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-compliance');
    h = await OtaHarness.start({ enrollmentUrl: enrollment.internalUrl, testMeterHeader: true });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    ({ adminKey: otherAdmin } = await enrollment.tenant());
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    await h.prepareRelease({ admin, operator, classId, vendorId: VENDOR, authority: root.publicKey, image });
    for (const sequenceNumber of [7, 8]) {
      const signed = signManifest(appManifest({ vendorId: VENDOR, classId, image, sequenceNumber }), [
        { privateKey: root.privateKey },
      ]);
      const accepted = await fetch(`${h.url}/v1/firmware/manifests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: signed.envelopeBytes,
      });
      expect(accepted.status).toBe(201);
      manifests.set(sequenceNumber, (await accepted.json()) as FirmwareManifestView);
    }
    await h.enroll(tenantId, ids, classId);
    await h.enroll(tenantId, [`MTR-cmp-${rand()}-bare`], bareClass);
  });

  afterAll(async () => {
    await h?.stop();
    await enrollment?.stop();
  });

  it('counts a class before any install: every meter has the new update available', async () => {
    const answer = await compliance(auditor, `?classId=${classId}`);
    expect(answer.status).toBe(200);
    expect(answer.body.classes).toEqual([
      {
        classId,
        latest: { manifestId: manifests.get(8)!.manifestId, sequenceNumber: 8 },
        total: 4,
        onLatest: 0,
        updateInProgress: 0,
        newUpdateAvailable: 4,
      },
    ]);
  });

  it('judges by receipts against the highest live sequence: on latest, older, in progress, untouched', async () => {
    await deploy(onLatest, 8, true);
    await deploy(onOlder, 7, true);
    await deploy(inProgress, 8, false);
    const answer = await compliance(auditor);
    expect(answer.status).toBe(200);
    const [bare, counted] = [bareClass, classId].map((id) =>
      answer.body.classes.find((c) => c.classId === id),
    );
    expect(counted).toMatchObject({ total: 4, onLatest: 1, updateInProgress: 1, newUpdateAvailable: 2 });
    // A class with no manifest: nothing to update to, every meter on the latest it has.
    expect(bare).toEqual({
      classId: bareClass,
      latest: null,
      total: 1,
      onLatest: 1,
      updateInProgress: 0,
      newUpdateAvailable: 0,
    });
    expect(untouched).toBeDefined();
  });

  it('a revoked latest no longer counts: the meter on sequence 7 is on the latest again', async () => {
    const revoked = await h.request('POST', `/v1/firmware/manifests/${manifests.get(8)!.manifestId}/revoke`, {
      key: admin,
    });
    expect(revoked.status, revoked.text).toBe(200);
    const [counted] = (await compliance(operator, `?classId=${classId}`)).body.classes;
    expect(counted!.latest).toEqual({ manifestId: manifests.get(7)!.manifestId, sequenceNumber: 7 });
    expect(counted!.onLatest).toBe(2);
    expect(counted!.onLatest + counted!.updateInProgress + counted!.newUpdateAvailable).toBe(4);
  });

  it('shows another tenant nothing of this one, and refuses without a key or with a bad query', async () => {
    const other = await compliance(otherAdmin);
    expect(other.status).toBe(200);
    expect(other.body.classes).toEqual([]);
    expect((await h.request('GET', '/v1/compliance')).status).toBe(401);
    const bad = await compliance(auditor, '?classId=em300&gateway=x');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
