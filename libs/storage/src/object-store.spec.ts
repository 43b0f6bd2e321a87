import { describe, expect, it } from 'vitest';
import { DEFAULT_PART_SIZE, ObjectStore, partSizeFor, rangeHeader } from './object-store';
import { createS3Client } from './s3-client.factory';

const MIB = 1024 * 1024;

describe('partSizeFor', () => {
  it('uses 8 MiB parts (above the 5 MiB S3 minimum) for unknown and ordinary sizes', () => {
    expect(DEFAULT_PART_SIZE).toBe(8 * MIB);
    expect(partSizeFor(undefined)).toBe(8 * MIB);
    expect(partSizeFor(20 * MIB)).toBe(8 * MIB);
  });

  it('grows parts so a huge object stays within 10,000 parts', () => {
    const size = 200 * 1024 * MIB;
    expect(Math.ceil(size / partSizeFor(size))).toBeLessThanOrEqual(10_000);
    expect(partSizeFor(size)).toBeGreaterThan(8 * MIB);
  });
});

describe('rangeHeader', () => {
  it('formats inclusive and open-ended ranges', () => {
    expect(rangeHeader({ start: 0, end: 99 })).toBe('bytes=0-99');
    expect(rangeHeader({ start: 100 })).toBe('bytes=100-');
  });

  it.each([{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }])('rejects %j', (range) => {
    expect(() => rangeHeader(range)).toThrow(/Invalid byte range/);
  });
});

describe('ObjectStore.presignGet', () => {
  const store = new ObjectStore(
    createS3Client({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      forcePathStyle: true,
    }),
  );

  it('signs offline with the given date and lifetime', async () => {
    const url = new URL(
      await store.presignGet('fw', 'images/v1.bin', {
        expiresInSeconds: 300,
        signingDate: new Date('2030-01-02T03:04:05Z'),
      }),
    );
    expect(url.pathname).toBe('/fw/images/v1.bin');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20300102T030405Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses lifetimes SigV4 cannot express', async () => {
    await expect(store.presignGet('fw', 'k', { expiresInSeconds: 0 })).rejects.toThrow(/expiresInSeconds/);
    await expect(store.presignGet('fw', 'k', { expiresInSeconds: 8 * 24 * 3600 })).rejects.toThrow(
      /expiresInSeconds/,
    );
  });
});
