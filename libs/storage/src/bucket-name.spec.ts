import { describe, expect, it } from 'vitest';
import { assertBucketName } from './bucket-name';
import { StorageError } from './storage.errors';

describe('assertBucketName', () => {
  it.each(['fw1', 'firmware-images', 'mk-test-lx3k2-abc123', 'a.b.c', 'x'.repeat(63)])('accepts %s', (name) =>
    expect(() => assertBucketName(name)).not.toThrow(),
  );

  it.each([
    'ab',
    'x'.repeat(64),
    'Firmware',
    'fw_images',
    '-fw',
    'fw-',
    'a..b',
    'a.-b',
    '192.168.1.1',
    'fw images',
    '../etc',
  ])('rejects %j', (name) => expect(() => assertBucketName(name)).toThrow(StorageError));
});
