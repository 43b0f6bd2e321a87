import { StorageError } from './storage.errors';

// The S3 general-purpose bucket rules that hold on every S3 API server (AWS, MinIO, S3Proxy).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_LIKE = /^\d+\.\d+\.\d+\.\d+$/;

/** Throws unless `name` is a valid bucket name: 3-63 lowercase letters, digits, hyphens and dots. */
export function assertBucketName(name: string): void {
  if (
    !BUCKET_NAME.test(name) ||
    name.includes('..') ||
    name.includes('.-') ||
    name.includes('-.') ||
    IPV4_LIKE.test(name)
  ) {
    throw new StorageError(
      'INVALID_BUCKET_NAME',
      `Invalid bucket name ${JSON.stringify(name)}: use 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
    );
  }
}
