import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore, StorageError, createS3Client } from '../src';
import { deleteBucket, stackEndpoints, uniqueName } from './storage-test-helpers';

const MIB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('ObjectStore: presigned multipart uploads, digests, copy-if-absent (real S3Proxy)', () => {
  const store = new ObjectStore(createS3Client(stackEndpoints().s3));
  const bucket = uniqueName('mk-mp');
  const data = randomBytes(5 * MIB + 777);
  const parts = [data.subarray(0, 5 * MIB), data.subarray(5 * MIB)];

  /** Uploads `bodies` through presigned part URLs with plain fetch; the part list to complete with. */
  async function upload(key: string, bodies: Buffer[]) {
    const uploadId = await store.createMultipartUpload(bucket, key, 'application/octet-stream');
    const completed = [];
    for (const [i, body] of bodies.entries()) {
      const url = await store.presignUploadPart(bucket, key, uploadId, i + 1, {
        expiresInSeconds: 60,
        contentLength: body.length,
      });
      const response = await fetch(url, { method: 'PUT', body });
      expect(response.status).toBe(200);
      completed.push({ partNumber: i + 1, eTag: response.headers.get('etag')! });
    }
    return { uploadId, completed };
  }

  beforeAll(() => store.ensureBucket(bucket));
  afterAll(async () => {
    await deleteBucket(store.client, bucket);
    store.client.destroy();
  });

  it('assembles parts PUT through presigned URLs, and measures the object by a streaming read', async () => {
    const { uploadId, completed } = await upload('staging/a', parts);
    await store.completeMultipartUpload(bucket, 'staging/a', uploadId, completed.reverse());
    await expect(store.digest(bucket, 'staging/a')).resolves.toEqual({
      sha256Hex: sha256(data),
      bytes: data.length,
    });
    await expect(store.digest(bucket, 'staging/a', data.length - 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('signs each part URL with its length: S3 refuses another length', async () => {
    const uploadId = await store.createMultipartUpload(bucket, 'staging/b', 'application/octet-stream');
    const url = await store.presignUploadPart(bucket, 'staging/b', uploadId, 1, {
      expiresInSeconds: 60,
      contentLength: 10,
    });
    expect((await fetch(url, { method: 'PUT', body: Buffer.alloc(11) })).status).toBe(403);
    expect((await fetch(url, { method: 'PUT', body: Buffer.alloc(9) })).status).toBe(403);
    await store.abortMultipartUpload(bucket, 'staging/b', uploadId);
    await store.abortMultipartUpload(bucket, 'staging/b', uploadId);
  });

  it('refuses a part list with a wrong ETag as INVALID_ARGUMENT', async () => {
    const { uploadId, completed } = await upload('staging/c', parts);
    const wrong = completed.map((part, i) =>
      i === 0 ? { ...part, eTag: '"0123456789abcdef0123456789abcdef"' } : part,
    );
    const error = await store
      .completeMultipartUpload(bucket, 'staging/c', uploadId, wrong)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('INVALID_ARGUMENT');
  });

  it('copies to a key only while nothing is there: an existing object is never overwritten', async () => {
    await store.put(bucket, 'src/one', Buffer.from('one'), { contentType: 'text/plain' });
    await store.put(bucket, 'src/two', Buffer.from('two'), { contentType: 'text/plain' });
    await expect(store.copyIfAbsent(bucket, 'src/one', 'dst/x')).resolves.toBe(true);
    await expect(store.copyIfAbsent(bucket, 'src/two', 'dst/x')).resolves.toBe(false);
    await expect(store.digest(bucket, 'dst/x')).resolves.toMatchObject({
      sha256Hex: sha256(Buffer.from('one')),
    });
  });
});
