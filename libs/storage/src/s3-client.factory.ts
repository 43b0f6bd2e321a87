import { S3Client } from '@aws-sdk/client-s3';

// Consumers type the client without importing @aws-sdk (lint keeps it inside this lib).
export type { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** Omit for AWS S3; set for MinIO, S3Proxy and the like (e.g. http://127.0.0.1:19000). */
  endpoint?: string;
  region: string;
  /** Omit both to use the SDK's default chain (IRSA, instance profile, environment). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `true` for servers without virtual-host buckets (S3Proxy, MinIO by default). */
  forcePathStyle: boolean;
  /** Abandon a TCP/TLS connect after this long; 5 s unless set. */
  connectionTimeoutMs?: number;
  /** Close a socket idle this long mid-request (a stalled transfer); 60 s unless set. */
  socketTimeoutMs?: number;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = options;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error('S3 credentials need both accessKeyId and secretAccessKey, or neither');
  }
  return new S3Client({
    region,
    forcePathStyle,
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
    },
  });
}
