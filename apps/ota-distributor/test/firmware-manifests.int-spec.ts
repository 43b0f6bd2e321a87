import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_EVENTS,
  type AuditEvent,
  type FirmwareImageUpload,
  type FirmwareManifestView,
  OTA_FIRMWARE,
  type OtaFirmwareEvent,
} from '@meterkeep/contracts';
import {
  type FirmwareManifest,
  type ManifestComponent,
  MAX_ENVELOPE_BYTES,
  type ManifestSigner,
  issueSigningKeyCertificate,
  keyIdOf,
  signManifest,
} from '@meterkeep/firmware';
import { imageKeys } from '../src/images/image-keys';
import { EnrollmentProcess, OtaHarness, TopicTap, testKafka } from './ota-test-kit';

// Spec §6.1 (manifests rows), §4.1 `dist.manifest.*`, §6.7: manifest acceptance on the real stack.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const DAY = 24 * 3600 * 1000;
const VENDOR = 'acme-meters';

type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };
const p256 = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

const component = (
  id: 'app' | 'metrology' | 'modem',
  bytes: Buffer,
  overrides: Partial<ManifestComponent> = {},
): ManifestComponent => ({
  id: [id],
  version: '4.3.0',
  format: 'raw',
  digest: { alg: 'sha-256', value: sha256(bytes) },
  size: bytes.length,
  ...overrides,
});

describe('ota-distributor: signed manifest acceptance on the real stack', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let auditTap: TopicTap;
  let firmwareTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  const classId = `em300-${randomBytes(3).toString('hex')}`;
  const root = p256();
  const revokedRoot = p256();
  const appImage = randomBytes(64 * 1024);
  const modemImage = randomBytes(32 * 1024);
  const patchImage = randomBytes(8 * 1024);
  const pendingImage = randomBytes(16 * 1024);
  /** App sequence numbers go up through the file: each accepting test takes the next. */
  let appSequence = 100;

  const manifest = (overrides: Partial<FirmwareManifest> = {}): FirmwareManifest => ({
    manifestVersion: 1,
    sequenceNumber: ++appSequence,
    vendorId: VENDOR,
    classId,
    components: [component('app', appImage)],
    issuedAt: new Date(Date.now() - 60_000).toISOString(),
    expiresAt: new Date(Date.now() + 90 * DAY).toISOString(),
    description: `release ${randomBytes(4).toString('hex')}`,
    ...overrides,
  });
  const sign = (m: FirmwareManifest, signers: ManifestSigner[] = [{ privateKey: root.privateKey }]) =>
    signManifest(m, signers);

  /** POSTs exact bytes, as the signing CLI's output is sent. */
  const submit = async (
    bytes: Buffer,
    key = operator,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const response = await fetch(`${h.url}/v1/firmware/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...headers },
      body: bytes,
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as FirmwareManifestView & { code?: string } };
  };
  const expectRefused = async (bytes: Buffer, code: string) => {
    const refused = await submit(bytes);
    expect(refused.body.code).toBe(code);
    expect(refused.status).toBe(422);
    const subject = sha256(bytes);
    const audit = (
      await auditTap.waitFor(
        (r) =>
          r.json.tenantId === tenantId &&
          r.json.action === 'ota.manifest-refused' &&
          r.json.subject === subject,
        1,
        `ota.manifest-refused of ${code}`,
      )
    )[0]!.json as unknown as AuditEvent;
    // The code only: nothing the caller sent beyond the digest of its bytes.
    expect(audit.detail).toEqual({ code });
    expect(audit.outcome).toBe('refused');
  };
  const auditOf = async (action: string, subject: string) =>
    (
      await auditTap.waitFor(
        (r) => r.json.tenantId === tenantId && r.json.action === action && r.json.subject === subject,
        1,
        `${action} of ${subject}`,
      )
    )[0]!.json as unknown as AuditEvent;
  const firmwareEvents = async (digest: string, type: string) =>
    (
      await firmwareTap.waitFor(
        (r) => r.json.tenantId === tenantId && r.json.manifestDigest === digest && r.json.type === type,
        1,
        `ota.firmware.v1 ${type} of ${digest}`,
      )
    ).map((r) => r.json as unknown as OtaFirmwareEvent);

  /** Declares an image and, unless `verify` is false, uploads its bytes and completes it. */
  async function uploadImage(cls: string, id: string, bytes: Buffer, verify = true) {
    const declared = await h.request<FirmwareImageUpload>('POST', '/v1/firmware/images', {
      key: operator,
      json: { classId: cls, component: id, size: bytes.length, sha256: sha256(bytes) },
    });
    expect(declared.status).toBe(201);
    if (!verify) return;
    const [part] = declared.body.upload!.parts;
    const put = await fetch(part!.url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const done = await h.request('POST', `/v1/firmware/images/${declared.body.image.imageId}/complete`, {
      key: operator,
      json: { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] },
    });
    expect(done.body).toMatchObject({ state: 'verified' });
  }

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota-man');
    h = await OtaHarness.start({ enrollmentUrl: enrollment.internalUrl });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    other = await enrollment.tenant();
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
    firmwareTap = await TopicTap.open(testKafka(), OTA_FIRMWARE);
    for (const cls of [classId, `${classId}-b`]) {
      const put = await h.request('PUT', `/v1/firmware/classes/${cls}`, {
        key: admin,
        json: { vendorId: VENDOR },
      });
      expect(put.status).toBe(200);
    }
    for (const key of [root, revokedRoot]) {
      const registered = await h.request('POST', '/v1/firmware/update-authorities', {
        key: admin,
        json: { publicKeyPem: pem(key.publicKey) },
      });
      expect(registered.status).toBe(201);
    }
    const revoked = await h.request(
      'POST',
      `/v1/firmware/update-authorities/${keyIdOf(revokedRoot.publicKey)}/revoke`,
      {
        key: admin,
      },
    );
    expect(revoked.status).toBe(200);
    await uploadImage(classId, 'app', appImage);
    await uploadImage(classId, 'modem', modemImage);
    await uploadImage(classId, 'app', patchImage);
    await uploadImage(`${classId}-b`, 'app', appImage);
    await uploadImage(classId, 'app', pendingImage, false);
  });
  afterAll(async () => {
    await firmwareTap?.close();
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  let accepted: FirmwareManifestView;
  let acceptedBytes: Buffer;

  it('accepts a manifest signed by the tenant’s update authority: 201, exact bytes stored content-addressed, audited, published', async () => {
    const m = manifest({
      provenance: { sourceDigest: 'c'.repeat(64), builder: 'ci/acme', sbomDigest: 'd'.repeat(64) },
    });
    const signed = sign(m);
    const answer = await submit(signed.envelopeBytes);
    expect(answer.status).toBe(201);
    accepted = answer.body;
    acceptedBytes = signed.envelopeBytes;
    expect(accepted).toMatchObject({
      manifestDigest: signed.digest,
      envelopeSha256: sha256(signed.envelopeBytes),
      classId,
      vendorId: VENDOR,
      sequenceNumber: m.sequenceNumber,
      components: [
        {
          id: 'app',
          version: '4.3.0',
          format: 'raw',
          digest: m.components[0]!.digest,
          size: appImage.length,
        },
      ],
      signerKeyIds: [keyIdOf(root.publicKey)],
      state: 'accepted',
      revokedAt: null,
    });

    const key = imageKeys.manifest(tenantId, classId, m.sequenceNumber, signed.digest);
    expect(key).toBe(
      `tenants/${tenantId}/firmware/classes/${classId}/manifests/${m.sequenceNumber}-${signed.digest}.json`,
    );
    expect((await h.store.digest(h.bucket, key)).sha256Hex).toBe(sha256(signed.envelopeBytes));

    const envelope = await fetch(`${h.url}/v1/firmware/manifests/${accepted.manifestId}/envelope`, {
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(envelope.status).toBe(200);
    expect(envelope.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Buffer.from(await envelope.arrayBuffer()).equals(signed.envelopeBytes)).toBe(true);

    const audit = await auditOf('ota.manifest-accepted', accepted.manifestId);
    expect(audit.detail).toMatchObject({
      manifestDigest: signed.digest,
      classId,
      sequenceNumber: m.sequenceNumber,
      signerKeyIds: keyIdOf(root.publicKey),
      builder: 'ci/acme',
    });
    const [event] = await firmwareEvents(signed.digest, 'accepted');
    expect(event).toMatchObject({
      type: 'accepted',
      classId,
      sequenceNumber: m.sequenceNumber,
      components: [{ id: 'app', version: '4.3.0', digest: sha256(appImage), size: appImage.length }],
      provenance: { builder: 'ci/acme' },
    });
  });

  it('answers the same bytes again with the same manifest (200), and the same manifest in other bytes with 409', async () => {
    const again = await submit(acceptedBytes);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(accepted);
    const rows = await h.db
      .selectFrom('manifests')
      .select('manifest_id')
      .where('digest', '=', accepted.manifestDigest)
      .execute();
    expect(rows).toHaveLength(1);

    // ECDSA signatures differ each time: the same manifest signed again is other envelope bytes.
    const { manifest: m } = JSON.parse(acceptedBytes.toString()) as { manifest: FirmwareManifest };
    const resigned = sign(m).envelopeBytes;
    expect(resigned.equals(acceptedBytes)).toBe(false);
    const conflict = await submit(resigned);
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('MANIFEST_ALREADY_ACCEPTED');
  });

  it('dist.manifest.sequence-not-increasing-refused: the same or a lower sequence for a component of the class is refused', async () => {
    await expectRefused(
      sign(manifest({ sequenceNumber: accepted.sequenceNumber })).envelopeBytes,
      'SEQUENCE_ROLLBACK',
    );
    await expectRefused(sign(manifest({ sequenceNumber: 1 })).envelopeBytes, 'SEQUENCE_ROLLBACK');
    // A component of the manifest with a higher counter is enough to refuse the whole manifest.
    const both = manifest({
      sequenceNumber: accepted.sequenceNumber,
      components: [component('modem', modemImage), component('app', appImage)],
    });
    await expectRefused(sign(both).envelopeBytes, 'SEQUENCE_ROLLBACK');
    // The counter is per (tenant, class, component): the modem and another class start afresh.
    expect(
      (
        await submit(
          sign(manifest({ sequenceNumber: 1, components: [component('modem', modemImage)] })).envelopeBytes,
        )
      ).status,
    ).toBe(201);
    expect(
      (await submit(sign(manifest({ sequenceNumber: 1, classId: `${classId}-b` })).envelopeBytes)).status,
    ).toBe(201);
  });

  it('refuses a manifest signed by a key that is no update authority of the tenant (wrong key)', async () => {
    await expectRefused(
      sign(manifest(), [{ privateKey: p256().privateKey }]).envelopeBytes,
      'MANIFEST_SIGNATURE_INVALID',
    );
    // A correct signature beside a foreign one is no excuse: every signature must verify.
    await expectRefused(
      sign(manifest(), [{ privateKey: root.privateKey }, { privateKey: p256().privateKey }]).envelopeBytes,
      'MANIFEST_SIGNATURE_INVALID',
    );
  });

  it('refuses a manifest signed by a revoked update authority, directly or through a delegated key', async () => {
    await expectRefused(
      sign(manifest(), [{ privateKey: revokedRoot.privateKey }]).envelopeBytes,
      'SIGNING_KEY_REVOKED',
    );
    const delegate = p256();
    const signingKeyCertPem = issueSigningKeyCertificate({
      rootPrivateKey: revokedRoot.privateKey,
      signingPublicKey: delegate.publicKey,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    await expectRefused(
      sign(manifest(), [{ privateKey: delegate.privateKey, signingKeyCertPem }]).envelopeBytes,
      'MANIFEST_SIGNATURE_INVALID',
    );
  });

  it('accepts a signing key the update authority delegated to by certificate', async () => {
    const delegate = p256();
    const signingKeyCertPem = issueSigningKeyCertificate({
      rootPrivateKey: root.privateKey,
      signingPublicKey: delegate.publicKey,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    const answer = await submit(
      sign(manifest(), [{ privateKey: delegate.privateKey, signingKeyCertPem }]).envelopeBytes,
    );
    expect(answer.status).toBe(201);
    expect(answer.body.signerKeyIds).toEqual([keyIdOf(delegate.publicKey)]);
  });

  it('refuses an unknown class and a vendor that is not the class’s', async () => {
    await expectRefused(sign(manifest({ classId: `${classId}-unknown` })).envelopeBytes, 'CLASS_MISMATCH');
    await expectRefused(sign(manifest({ vendorId: 'other-vendor' })).envelopeBytes, 'VENDOR_MISMATCH');
  });

  it('refuses a component whose image digest or size differs from every verified image', async () => {
    const foreign = randomBytes(1024);
    await expectRefused(
      sign(manifest({ components: [component('app', foreign)] })).envelopeBytes,
      'DIGEST_MISMATCH',
    );
    await expectRefused(
      sign(manifest({ components: [component('app', appImage, { size: appImage.length + 1 })] }))
        .envelopeBytes,
      'SIZE_MISMATCH',
    );
    // The app image's digest under another component is no image of that component.
    await expectRefused(
      sign(manifest({ components: [component('metrology', appImage)] })).envelopeBytes,
      'DIGEST_MISMATCH',
    );
  });

  it('refuses a component whose image was declared but never verified', async () => {
    await expectRefused(
      sign(manifest({ components: [component('app', pendingImage)] })).envelopeBytes,
      'IMAGE_NOT_VERIFIED',
    );
  });

  it('refuses an expired manifest', async () => {
    const expired = manifest({
      issuedAt: new Date(Date.now() - 100 * DAY).toISOString(),
      expiresAt: new Date(Date.now() - 10 * DAY).toISOString(),
    });
    await expectRefused(sign(expired).envelopeBytes, 'MANIFEST_EXPIRED');
  });

  it('accepts a zstd-patch delta whose payload (the patch) is a verified image of the component', async () => {
    const delta = manifest({
      components: [
        component('app', patchImage, {
          format: 'zstd-patch',
          precursorDigest: { alg: 'sha-256', value: 'e'.repeat(64) },
          resultDigest: { alg: 'sha-256', value: sha256(appImage) },
          resultSize: appImage.length,
        }),
      ],
    });
    const answer = await submit(sign(delta).envelopeBytes);
    expect(answer.status).toBe(201);
    expect(answer.body.components[0]).toMatchObject({ format: 'zstd-patch', size: patchImage.length });
  });

  it('bounds the body before parsing it and refuses what is not a strict envelope', async () => {
    const huge = Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20);
    const tooLarge = await submit(huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.code).toBe('MANIFEST_TOO_LARGE');
    const wrongType = await submit(acceptedBytes, operator, { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expectRefused(Buffer.from('{"manifest":'), 'MANIFEST_MALFORMED');
    // A field added beside the signed ones (unsigned extra field) is no manifest.
    const envelope = JSON.parse(sign(manifest()).envelopeBytes.toString()) as Record<string, unknown>;
    (envelope.manifest as Record<string, unknown>).installAlso = 'modem';
    await expectRefused(Buffer.from(JSON.stringify(envelope)), 'MANIFEST_MALFORMED');
  });

  it('answers another tenant’s manifest with 404 on every route, and never answers its bytes as theirs', async () => {
    const key = other.adminKey;
    const paths = [
      ['GET', `/v1/firmware/manifests/${accepted.manifestId}`],
      ['GET', `/v1/firmware/manifests/${accepted.manifestId}/envelope`],
      ['POST', `/v1/firmware/manifests/${accepted.manifestId}/revoke`],
    ] as const;
    for (const [method, path] of paths) {
      const answer = await h.request(method, path, { key });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body).toMatchObject({ code: 'MANIFEST_NOT_FOUND' });
    }
    // The same bytes from the other tenant are judged against its own (empty) trust: refused.
    const theirs = await submit(acceptedBytes, key);
    expect(theirs.status).toBe(422);
    expect(theirs.body.code).toBe('MANIFEST_SIGNATURE_INVALID');
  });

  it('lets every role read, operators and admins submit, and only admins revoke', async () => {
    expect(
      (await h.request('GET', `/v1/firmware/manifests/${accepted.manifestId}`, { key: auditor })).status,
    ).toBe(200);
    expect((await submit(sign(manifest()).envelopeBytes, auditor)).status).toBe(403);
    expect(
      (await h.request('POST', `/v1/firmware/manifests/${accepted.manifestId}/revoke`, { key: operator }))
        .status,
    ).toBe(403);
    expect(
      (await h.request('POST', `/v1/firmware/manifests/${accepted.manifestId}/revoke`, { key: auditor }))
        .status,
    ).toBe(403);
    expect((await submit(sign(manifest()).envelopeBytes, 'mk_nope_nope')).status).toBe(401);
  });

  it('revokes a manifest for good (admin): audited, published, its sequence stays taken', async () => {
    const path = `/v1/firmware/manifests/${accepted.manifestId}/revoke`;
    const revoked = await h.request<FirmwareManifestView>('POST', path, { key: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ ...accepted, state: 'revoked', revokedAt: expect.any(String) });
    const again = await h.request<FirmwareManifestView>('POST', path, { key: admin });
    expect(again.body).toEqual(revoked.body);
    const read = await h.request('GET', `/v1/firmware/manifests/${accepted.manifestId}`, { key: auditor });
    expect(read.body).toEqual(revoked.body);

    const audit = await auditOf('ota.manifest-revoked', accepted.manifestId);
    expect(audit.detail).toMatchObject({ manifestDigest: accepted.manifestDigest });
    const [event] = await firmwareEvents(accepted.manifestDigest, 'revoked');
    expect(event).toMatchObject({ classId, sequenceNumber: accepted.sequenceNumber });
    const revokedEvents = firmwareTap.records.filter(
      (r) => r.json.manifestDigest === accepted.manifestDigest && r.json.type === 'revoked',
    );
    expect(revokedEvents).toHaveLength(1);

    // Its bytes again answer the revoked manifest; its sequence is not free again.
    const resubmitted = await submit(acceptedBytes);
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body.state).toBe('revoked');
    await expectRefused(
      sign(manifest({ sequenceNumber: accepted.sequenceNumber })).envelopeBytes,
      'SEQUENCE_ROLLBACK',
    );
  });

  it('dist.manifest.immutable-after-accept: no route changes an accepted manifest, and the table refuses it too', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const answer = await h.request(method, `/v1/firmware/manifests/${accepted.manifestId}`, {
        key: admin,
        json: {},
      });
      expect(answer.status, method).toBe(404);
    }
    await expect(
      h.db
        .updateTable('manifests')
        .set({ sequence_number: 999_999 })
        .where('manifest_id', '=', accepted.manifestId)
        .execute(),
    ).rejects.toThrow(/immutable/);
    await expect(
      h.db
        .updateTable('manifests')
        .set({ state: 'accepted', revoked_at: null })
        .where('manifest_id', '=', accepted.manifestId)
        .execute(),
    ).rejects.toThrow(/immutable/);
  });

  it('lets exactly one of two concurrent manifests with the same sequence win', async () => {
    for (let round = 0; round < 3; round++) {
      const sequenceNumber = ++appSequence;
      const [a, b] = [manifest({ sequenceNumber }), manifest({ sequenceNumber })].map(
        (m) => sign(m).envelopeBytes,
      );
      const answers = await Promise.all([submit(a!), submit(b!)]);
      expect(answers.map((x) => x.status).sort()).toEqual([201, 422]);
      expect(answers.find((x) => x.status === 422)!.body.code).toBe('SEQUENCE_ROLLBACK');
      const rows = await h.db
        .selectFrom('manifest_components')
        .select('manifest_id')
        .where('class_id', '=', classId)
        .where('component', '=', 'app')
        .where('sequence_number', '=', String(sequenceNumber))
        .execute();
      expect(rows).toHaveLength(1);
    }
  });
});
