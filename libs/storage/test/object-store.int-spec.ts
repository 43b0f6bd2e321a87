import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore, ObjectStoreHealthProbe, StorageError, createS3Client } from '../src';
import { deleteBucket, silentServer, stackEndpoints, uniqueName } from './storage-test-helpers';

const MIB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Streams `data` in 1 MiB chunks of unknown total length, the way a firmware upload arrives. */
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += MIB) yield data.subarray(offset, offset + MIB);
    })(),
  );
}

describe('ObjectStore (real S3Proxy)', () => {
  const s3 = stackEndpoints().s3;
  const store = new ObjectStore(createS3Client(s3));
  const bucket = uniqueName('mk-test');
  const small = randomBytes(4096);

  beforeAll(async () => {
    await store.ensureBucket(bucket);
    await store.put(bucket, 'fw/small.bin', small, { contentType: 'application/octet-stream' });
  });
  afterAll(async () => {
    await deleteBucket(store.client, bucket);
    store.client.destroy();
  });

  it('creates a bucket once and treats creating it again as done', async () => {
    await expect(store.bucketExists(bucket)).resolves.toBe(true);
    await expect(store.ensureBucket(bucket)).resolves.toBeUndefined();
    await expect(store.bucketExists(`${bucket}-absent`)).resolves.toBe(false);
    await expect(store.ensureBucket('Not_A_Bucket')).rejects.toBeInstanceOf(StorageError);
  });

  it('streams a 20 MiB object up in several parts and back with the same SHA-256', async () => {
    const data = randomBytes(20 * MIB);
    const progress: number[] = [];
    const result = await store.put(bucket, 'fw/large.bin', streamOf(data), {
      contentType: 'application/octet-stream',
      metadata: { digest: sha256(data) },
      onProgress: ({ part }) => progress.push(part),
    });

    expect(result.parts).toBe(3); // 8 + 8 + 4 MiB
    expect(result.eTag).toMatch(/-3"$/); // the server's own multipart ETag: md5-of-parts-N
    expect(new Set(progress)).toEqual(new Set([1, 2, 3]));
    const info = await store.head(bucket, 'fw/large.bin');
    expect(info).toMatchObject({
      contentLength: 20 * MIB,
      contentType: 'application/octet-stream',
      metadata: { digest: sha256(data) },
    });

    const download = await store.get(bucket, 'fw/large.bin');
    expect(download.contentLength).toBe(20 * MIB);
    const hash = createHash('sha256');
    for await (const chunk of download.body) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(sha256(data));

    // A range across the boundary between parts 1 and 2.
    const start = 8 * MIB - 10;
    const ranged = await store.get(bucket, 'fw/large.bin', { range: { start, end: start + 19 } });
    expect(ranged.contentLength).toBe(20);
    expect(ranged.contentRange).toBe(`bytes ${start}-${start + 19}/${20 * MIB}`);
    expect((await buffer(ranged.body)).equals(data.subarray(start, start + 20))).toBe(true);
  });

  it('stores a small buffer with one PUT, and deletes it', async () => {
    const body = Buffer.from('manifest');
    await expect(
      store.put(bucket, 'fw/manifest.json', body, { contentType: 'application/json' }),
    ).resolves.toMatchObject({ parts: 1 });
    const got = await store.get(bucket, 'fw/manifest.json');
    expect(got.contentType).toBe('application/json');
    expect((await buffer(got.body)).toString()).toBe('manifest');

    await store.delete(bucket, 'fw/manifest.json');
    await expect(store.head(bucket, 'fw/manifest.json')).resolves.toBeUndefined();
    await expect(store.get(bucket, 'fw/manifest.json')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.delete(bucket, 'fw/manifest.json')).resolves.toBeUndefined();
  });

  it('serves a presigned GET to plain fetch, Range included', async () => {
    const url = await store.presignGet(bucket, 'fw/small.bin', { expiresInSeconds: 300 });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(small)).toBe(true);

    const partial = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    expect(partial.status).toBe(206);
    expect(Buffer.from(await partial.arrayBuffer()).equals(small.subarray(100, 200))).toBe(true);
  });

  it('refuses a presigned URL whose signature was tampered with', async () => {
    const url = new URL(await store.presignGet(bucket, 'fw/small.bin', { expiresInSeconds: 300 }));
    const signature = url.searchParams.get('X-Amz-Signature')!;
    const flipped = (signature[0] === '0' ? '1' : '0') + signature.slice(1);
    url.searchParams.set('X-Amz-Signature', flipped);

    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain(small.toString('latin1').slice(0, 16));
  });

  it('refuses an expired presigned URL', async () => {
    const url = await store.presignGet(bucket, 'fw/small.bin', {
      expiresInSeconds: 60,
      signingDate: new Date(Date.now() - 10 * 60_000),
    });
    const response = await fetch(url);
    expect(response.status).toBe(403);
    await response.arrayBuffer();
  });

  it('probe passes with a real request, by bucket or by listing', async () => {
    const byBucket = new ObjectStoreHealthProbe(store, { bucket });
    expect(byBucket.name).toBe('s3');
    await expect(byBucket.check()).resolves.toBeUndefined();
    await expect(new ObjectStoreHealthProbe(store).check()).resolves.toBeUndefined();
    await expect(new ObjectStoreHealthProbe(store, { bucket: `${bucket}-absent` }).check()).rejects.toThrow(
      /does not exist/,
    );
  });

  it('probe fails fast when nothing listens', async () => {
    const down = new ObjectStore(createS3Client({ ...s3, endpoint: 'http://127.0.0.1:1' }));
    const started = Date.now();
    await expect(new ObjectStoreHealthProbe(down, { timeoutMs: 1_500 }).check()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    down.client.destroy();
  });

  it('probe fails within its timeout when the server hangs', async () => {
    const hung = await silentServer();
    const stuck = new ObjectStore(createS3Client({ ...s3, endpoint: `http://127.0.0.1:${hung.port}` }));
    try {
      const started = Date.now();
      await expect(new ObjectStoreHealthProbe(stuck, { timeoutMs: 300 }).check()).rejects.toThrow(
        /s3 did not answer within 300 ms/,
      );
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      stuck.client.destroy();
      await hung.close();
    }
  });
});
