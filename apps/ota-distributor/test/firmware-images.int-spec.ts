import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_EVENTS,
  type AuditEvent,
  type FirmwareImageUpload,
  type FirmwareImageView,
  type UpdateAuthorityView,
} from '@meterkeep/contracts';
import { imageKeys } from '../src/images/image-keys';
import { EnrollmentProcess, OtaHarness, TopicTap, testKafka } from './ota-test-kit';

const MIB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

type Upload = NonNullable<FirmwareImageUpload['upload']>;

/** PUTs each part to its presigned URL with plain fetch, as an operator's tool would; the ETags. */
async function putParts(upload: Upload, bytes: Buffer, tamper?: (part: number, body: Buffer) => Buffer) {
  let offset = 0;
  const parts: { partNumber: number; etag: string }[] = [];
  for (const part of upload.parts) {
    let body = bytes.subarray(offset, offset + part.size);
    offset += part.size;
    if (tamper) body = tamper(part.partNumber, Buffer.from(body));
    const response = await fetch(part.url, { method: 'PUT', body });
    expect(response.status, `part ${part.partNumber}`).toBe(200);
    parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag')! });
  }
  return parts;
}

describe('ota-distributor: device classes, update authorities and firmware images on the real stack', () => {
  let enrollment: EnrollmentProcess;
  let h: OtaHarness;
  let auditTap: TopicTap;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditor: string;
  let other: { tenantId: string; adminKey: string };
  const classId = `em300-${randomBytes(3).toString('hex')}`;

  const declare = (json: Record<string, unknown>, key = operator) =>
    h.request<FirmwareImageUpload>('POST', '/v1/firmware/images', { key, json });
  const complete = (imageId: string, parts: unknown[], key = operator) =>
    h.request<FirmwareImageView>('POST', `/v1/firmware/images/${imageId}/complete`, { key, json: { parts } });
  const auditOf = async (action: string, subject: string) =>
    (
      await auditTap.waitFor(
        (r) => r.json.tenantId === tenantId && r.json.action === action && r.json.subject === subject,
        1,
        `${action} of ${subject}`,
      )
    )[0]!.json as unknown as AuditEvent;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('ota');
    h = await OtaHarness.start({ enrollmentUrl: enrollment.internalUrl });
    ({ tenantId, adminKey: admin } = await enrollment.tenant());
    other = await enrollment.tenant();
    [operator, auditor] = await Promise.all([
      enrollment.key(tenantId, 'operator'),
      enrollment.key(tenantId, 'auditor'),
    ]);
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
    const put = await h.request('PUT', `/v1/firmware/classes/${classId}`, {
      key: admin,
      json: { vendorId: 'acme-meters' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ classId, vendorId: 'acme-meters', maxImageBytes: 32 * MIB });
  });
  afterAll(async () => {
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  describe('device classes', () => {
    it('caps a class at most at the hard ceiling, and never changes its vendor', async () => {
      const put = (json: unknown, key = admin) =>
        h.request('PUT', `/v1/firmware/classes/${classId}-x`, { key, json });
      expect((await put({ vendorId: 'acme-meters', maxImageBytes: 2048 * MIB })).status).toBe(400);
      expect((await put({ vendorId: 'acme-meters', maxImageBytes: 4 * MIB })).body).toMatchObject({
        maxImageBytes: 4 * MIB,
      });
      // The class's own cap, not the service default (32 MiB), bounds its images.
      const sha = 'a'.repeat(64);
      const over = await declare({
        classId: `${classId}-x`,
        component: 'app',
        size: 4 * MIB + 1,
        sha256: sha,
      });
      expect(over.status).toBe(413);
      expect(over.body).toMatchObject({ code: 'SIZE_EXCEEDED' });
      const within = await declare({ classId: `${classId}-x`, component: 'app', size: 4 * MIB, sha256: sha });
      expect(within.status).toBe(201);
      const moved = await put({ vendorId: 'other-vendor' });
      expect(moved.status).toBe(409);
      expect(moved.body).toMatchObject({ code: 'CLASS_VENDOR_MISMATCH' });
      expect((await put({ vendorId: 'acme-meters' }, operator)).status).toBe(403);
    });
  });

  describe('update authorities', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyPem = p256.publicKey.export({ type: 'spki', format: 'pem' }).toString();

    it('registers a P-256 public key once (201, then 200), lists it to every role, revokes it for good', async () => {
      const register = (key = admin) =>
        h.request<UpdateAuthorityView>('POST', '/v1/firmware/update-authorities', {
          key,
          json: { publicKeyPem },
        });
      const first = await register();
      expect(first.status).toBe(201);
      const der = p256.publicKey.export({ type: 'spki', format: 'der' });
      expect(first.body).toMatchObject({
        keyId: sha256(der),
        publicKeyPem,
        algorithm: 'ES256',
        revokedAt: null,
      });
      expect((await register()).status).toBe(200);

      const listed = await h.request<{ items: UpdateAuthorityView[] }>(
        'GET',
        '/v1/firmware/update-authorities',
        {
          key: auditor,
        },
      );
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((a) => a.keyId)).toEqual([first.body.keyId]);
      const elsewhere = await h.request<{ items: unknown[] }>('GET', '/v1/firmware/update-authorities', {
        key: other.adminKey,
      });
      expect(elsewhere.body.items).toEqual([]);

      const revokePath = `/v1/firmware/update-authorities/${first.body.keyId}/revoke`;
      expect((await h.request('POST', revokePath, { key: other.adminKey })).status).toBe(404);
      const revoked = await h.request<UpdateAuthorityView>('POST', revokePath, { key: admin });
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      const again = await register();
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'UPDATE_AUTHORITY_REVOKED' });
      await auditOf('ota.update-authority-registered', first.body.keyId);
      await auditOf('ota.update-authority-revoked', first.body.keyId);
    });

    it('refuses an operator and an auditor: registering is for admins (threat: key substitution)', async () => {
      for (const key of [operator, auditor]) {
        const refused = await h.request('POST', '/v1/firmware/update-authorities', {
          key,
          json: { publicKeyPem },
        });
        expect(refused.status).toBe(403);
      }
    });

    it('dist.keys.no-private-update-key-in-service: refuses a private key with 422 and logs nothing of it', async () => {
      const privatePem = p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const refused = await h.request('POST', '/v1/firmware/update-authorities', {
        key: admin,
        json: { publicKeyPem: privatePem },
      });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'PRIVATE_KEY_REFUSED' });
      expect(refused.text).not.toContain('MIG');
      const secretPart = privatePem.split('\n')[2]!;
      expect(secretPart.length).toBeGreaterThan(40);
      await auditOf('ota.update-authority-refused', 'update-authority');
      expect(h.logs.join('\n')).not.toContain(secretPart);
      const stored = await h.db.selectFrom('update_authorities').select('public_key_pem').execute();
      expect(stored.every((row) => !row.public_key_pem.includes('PRIVATE'))).toBe(true);
    });

    it('refuses a key on another curve', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
      const refused = await h.request('POST', '/v1/firmware/update-authorities', {
        key: admin,
        json: { publicKeyPem: p384.export({ type: 'spki', format: 'pem' }).toString() },
      });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'KEY_TYPE_UNSUPPORTED' });
    });
  });

  describe('firmware images', () => {
    const image = randomBytes(20 * MIB + 12_345);
    const digest = sha256(image);
    let verified: FirmwareImageView;

    it('takes a 20 MiB image through presigned part URLs (plain fetch PUTs) and verifies it server-side', async () => {
      const declared = await declare({ classId, component: 'app', size: image.length, sha256: digest });
      expect(declared.status).toBe(201);
      const upload = declared.body.upload!;
      expect(upload.parts.map((p) => p.size)).toEqual([8 * MIB, 8 * MIB, 4 * MIB + 12_345]);
      expect(declared.body.image.state).toBe('pending');

      const parts = await putParts(upload, image);
      const done = await complete(declared.body.image.imageId, parts.reverse());
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ state: 'verified', sha256: digest, size: image.length });
      verified = done.body;

      // Stored content-addressed, byte for byte; the staging object is gone.
      const key = imageKeys.verified(tenantId, classId, digest);
      expect((await h.store.digest(h.bucket, key)).sha256Hex).toBe(digest);
      const staging = imageKeys.staging(tenantId, verified.imageId);
      expect(await h.store.head(h.bucket, staging)).toBeUndefined();
      const audit = await auditOf('ota.image-verified', verified.imageId);
      expect(audit.detail).toMatchObject({ sha256: digest, size: image.length, object: 'stored' });

      const read = await h.request<FirmwareImageView>('GET', `/v1/firmware/images/${verified.imageId}`, {
        key: auditor,
      });
      expect(read.body).toEqual(verified);
    });

    it('answers the verified image for the same digest, with no new upload', async () => {
      const again = await declare({ classId, component: 'app', size: image.length, sha256: digest });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ image: verified, upload: null });
      const wrongSize = await declare({ classId, component: 'app', size: image.length - 1, sha256: digest });
      expect(wrongSize.status).toBe(422);
      expect(wrongSize.body).toMatchObject({ code: 'SIZE_MISMATCH' });
    });

    it('never overwrites a stored image: a racing upload of the same digest leaves the object as it was', async () => {
      const small = randomBytes(64 * 1024);
      const first = await declare({ classId, component: 'modem', size: small.length, sha256: sha256(small) });
      const second = await declare({
        classId,
        component: 'modem',
        size: small.length,
        sha256: sha256(small),
      });
      expect([first.status, second.status]).toEqual([201, 201]);
      const firstParts = await putParts(first.body.upload!, small);
      const secondParts = await putParts(second.body.upload!, small);
      expect((await complete(first.body.image.imageId, firstParts)).status).toBe(200);
      const key = imageKeys.verified(tenantId, classId, sha256(small));
      const before = await h.store.head(h.bucket, key);
      expect((await complete(second.body.image.imageId, secondParts)).status).toBe(200);
      const after = await h.store.head(h.bucket, key);
      expect(after).toEqual(before);
      const audit = await auditOf('ota.image-verified', second.body.image.imageId);
      expect(audit.detail).toMatchObject({ object: 'existing' });
    });

    it('dist.manifest.digest-equals-uploaded-object: a tampered part is refused 422 DIGEST_MISMATCH, staging object deleted, audited', async () => {
      const bytes = randomBytes(6 * MIB);
      const declared = await declare({
        classId,
        component: 'app',
        size: bytes.length,
        sha256: sha256(bytes),
      });
      expect(declared.status).toBe(201);
      const parts = await putParts(declared.body.upload!, bytes, (n, body) => {
        if (n === 1) body[1000] = body[1000]! ^ 0x01;
        return body;
      });
      const imageId = declared.body.image.imageId;
      const refused = await complete(imageId, parts);
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'DIGEST_MISMATCH' });

      const read = await h.request<FirmwareImageView>('GET', `/v1/firmware/images/${imageId}`, {
        key: operator,
      });
      expect(read.body).toMatchObject({ state: 'refused', refusalCode: 'DIGEST_MISMATCH', verifiedAt: null });
      expect(await h.store.head(h.bucket, imageKeys.staging(tenantId, imageId))).toBeUndefined();
      expect(
        await h.store.head(h.bucket, imageKeys.verified(tenantId, classId, sha256(bytes))),
      ).toBeUndefined();
      const audit = await auditOf('ota.image-refused', imageId);
      expect(audit).toMatchObject({ outcome: 'refused', detail: { code: 'DIGEST_MISMATCH' } });
      // Decided: a second complete changes nothing.
      expect((await complete(imageId, parts)).status).toBe(409);
    });

    it('refuses assembled bytes shorter than declared (422 SIZE_MISMATCH), deleting them, audited', async () => {
      const bytes = randomBytes(MIB);
      const declared = await declare({
        classId,
        component: 'app',
        size: bytes.length,
        sha256: sha256(bytes),
      });
      expect(declared.status).toBe(201);
      const imageId = declared.body.image.imageId;
      const row = await h.db
        .selectFrom('images')
        .select(['staging_key', 'upload_id'])
        .where('image_id', '=', imageId)
        .executeTakeFirstOrThrow();
      // A part the planned URL would refuse (S3 checks its signed length): one signed for fewer bytes
      // with the service's own credentials, as a store that does not check lengths would take it.
      const short = bytes.subarray(0, bytes.length - 1);
      const url = await h.store.presignUploadPart(h.bucket, row.staging_key, row.upload_id, 1, {
        expiresInSeconds: 60,
        contentLength: short.length,
      });
      const put = await fetch(url, { method: 'PUT', body: short });
      expect(put.status).toBe(200);
      const refused = await complete(imageId, [{ partNumber: 1, etag: put.headers.get('etag')! }]);
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'SIZE_MISMATCH' });
      expect(await h.store.head(h.bucket, row.staging_key)).toBeUndefined();
      expect(
        await h.store.head(h.bucket, imageKeys.verified(tenantId, classId, sha256(bytes))),
      ).toBeUndefined();
      const audit = await auditOf('ota.image-refused', imageId);
      expect(audit).toMatchObject({ outcome: 'refused', detail: { code: 'SIZE_MISMATCH' } });
    });

    it('lets S3 refuse a part longer than planned: each URL signs its length', async () => {
      const bytes = randomBytes(MIB);
      const declared = await declare({
        classId,
        component: 'app',
        size: bytes.length,
        sha256: sha256(bytes),
      });
      const [part] = declared.body.upload!.parts;
      const longer = await fetch(part!.url, { method: 'PUT', body: Buffer.concat([bytes, Buffer.alloc(1)]) });
      expect(longer.status).toBe(403);
    });

    it('refuses an image over its class cap (413 SIZE_EXCEEDED) and an unknown class (404), storing nothing', async () => {
      const over = await declare({ classId, component: 'app', size: 32 * MIB + 1, sha256: digest });
      expect(over.status).toBe(413);
      expect(over.body).toMatchObject({ code: 'SIZE_EXCEEDED' });
      const unknown = await declare({ classId: 'no-such-class', component: 'app', size: 10, sha256: digest });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 'CLASS_NOT_FOUND' });
      // Only the components a manifest can name (app, metrology, modem).
      const component = await declare({ classId, component: 'bootloader', size: 10, sha256: digest });
      expect(component.status).toBe(400);
      const pending = await h.db
        .selectFrom('images')
        .select('image_id')
        .where('class_id', '=', 'no-such-class')
        .execute();
      expect(pending).toEqual([]);
    });

    it("answers another tenant's image with 404, as a missing one", async () => {
      const path = `/v1/firmware/images/${verified.imageId}`;
      const read = await h.request('GET', path, { key: other.adminKey });
      expect(read.status).toBe(404);
      expect(read.body).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
      expect(
        (
          await h.request('POST', `${path}/complete`, {
            key: other.adminKey,
            json: { parts: [{ partNumber: 1, etag: 'x' }] },
          })
        ).status,
      ).toBe(404);
      // Its class is not theirs either.
      const theirs = await declare({ classId, component: 'app', size: 10, sha256: digest }, other.adminKey);
      expect(theirs.status).toBe(404);
    });

    it('refuses an auditor an upload (403), and anyone without a key (401)', async () => {
      const json = { classId, component: 'app', size: 10, sha256: digest };
      expect((await declare(json, auditor)).status).toBe(403);
      expect((await h.request('POST', '/v1/firmware/images', { json })).status).toBe(401);
      expect((await complete(verified.imageId, [{ partNumber: 1, etag: 'x' }], auditor)).status).toBe(403);
    });

    it('never logs a presigned URL: the access log has the path, not the query or the answer', async () => {
      const bytes = randomBytes(1024);
      const declared = await declare({
        classId,
        component: 'metrology',
        size: bytes.length,
        sha256: sha256(bytes),
      });
      expect(declared.status).toBe(201);
      const url = new URL(declared.body.upload!.parts[0]!.url);
      const signature = url.searchParams.get('X-Amz-Signature')!;
      expect(signature).toMatch(/^[0-9a-f]{64}$/);
      const logs = h.logs.join('\n');
      expect(logs).toContain('"path":"/v1/firmware/images"');
      expect(logs).not.toContain(signature);
      expect(logs).not.toContain(url.pathname);
    });
  });
});
