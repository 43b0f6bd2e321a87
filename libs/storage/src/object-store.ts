import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertBucketName } from './bucket-name';
import { StorageError } from './storage.errors';

const MIB = 1024 * 1024;
/** S3 refuses parts under 5 MiB (except the last); 8 MiB keeps memory at queueSize x 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * MIB;
const MAX_PARTS = 10_000;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface PutOptions {
  contentType: string;
  /** Known size of a stream: lets the upload check every byte arrived and size its parts. */
  contentLength?: number;
  /** User metadata (x-amz-meta-*): ASCII keys and values. */
  metadata?: Record<string, string>;
  onProgress?: (progress: { loadedBytes: number; totalBytes?: number; part: number }) => void;
}

export interface PutResult {
  eTag?: string;
  /** How many parts carried the body: 1 for a single PUT, more for a multipart upload. */
  parts: number;
}

/** Inclusive byte range, as in HTTP: `{ start: 0, end: 99 }` is the first 100 bytes. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ObjectInfo {
  contentLength?: number;
  contentType?: string;
  eTag?: string;
  lastModified?: Date;
  metadata: Record<string, string>;
}

export interface GetResult extends ObjectInfo {
  body: Readable;
  /** `bytes start-end/total` when a range was asked for. */
  contentRange?: string;
}

export interface PresignGetOptions {
  expiresInSeconds: number;
  /** Sign as of this instant instead of now (tests; pre-issuing URLs for a planned window). */
  signingDate?: Date;
}

/** Multipart part size for a body of `contentLength` bytes (unknown: the default). */
export function partSizeFor(contentLength?: number): number {
  if (contentLength === undefined) return DEFAULT_PART_SIZE;
  return Math.max(DEFAULT_PART_SIZE, Math.ceil(contentLength / MAX_PARTS));
}

/** The HTTP Range header for `range`, validated. */
export function rangeHeader({ start, end }: ByteRange): string {
  const valid =
    Number.isSafeInteger(start) &&
    start >= 0 &&
    (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!valid) throw new StorageError('INVALID_ARGUMENT', `Invalid byte range ${start}-${end ?? ''}`);
  return `bytes=${start}-${end ?? ''}`;
}

function httpStatus(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/** Firmware images, exports and other blobs in any S3 API server. */
export class ObjectStore {
  constructor(
    readonly client: S3Client,
    private readonly options: { queueSize?: number } = {},
  ) {}

  async bucketExists(bucket: string, abortSignal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }), abortSignal ? { abortSignal } : {});
      return true;
    } catch (error) {
      if (httpStatus(error) === 404) return false;
      if (httpStatus(error) === 403) {
        throw new StorageError(
          'BUCKET_NOT_OWNED',
          `Bucket ${bucket} exists but these credentials may not use it`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** Creates the bucket unless it exists; safe to call on every start and from several replicas. */
  async ensureBucket(bucket: string): Promise<void> {
    assertBucketName(bucket);
    if (await this.bucketExists(bucket)) return;
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // Another replica won the race.
      if (error instanceof S3ServiceException && error.name === 'BucketAlreadyOwnedByYou') return;
      throw error;
    }
  }

  /**
   * Stores `body` under `key`. Streams go up in parts of at least 5 MiB, a few at a time, so memory
   * stays bounded whatever the size; a body smaller than one part is a single PUT.
   */
  async put(bucket: string, key: string, body: Buffer | Readable, options: PutOptions): Promise<PutResult> {
    const { contentType, contentLength, metadata, onProgress } = options;
    const upload = new Upload({
      client: this.client,
      partSize: partSizeFor(contentLength ?? (Buffer.isBuffer(body) ? body.length : undefined)),
      queueSize: this.options.queueSize ?? 2,
      params: {
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ...(contentLength !== undefined ? { ContentLength: contentLength } : {}),
        ...(metadata ? { Metadata: metadata } : {}),
      },
    });
    const parts = new Set<number>();
    upload.on('httpUploadProgress', ({ part, loaded, total }) => {
      if (part === undefined) return;
      parts.add(part);
      onProgress?.({ part, loadedBytes: loaded ?? 0, ...(total !== undefined ? { totalBytes: total } : {}) });
    });
    const result = await upload.done();
    return { ...(result.ETag ? { eTag: result.ETag } : {}), parts: parts.size };
  }

  /** The object's bytes (or `range` of them) as a stream, with its metadata. */
  async get(bucket: string, key: string, { range }: { range?: ByteRange } = {}): Promise<GetResult> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: rangeHeader(range) } : {}) }),
      );
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream');
      return {
        body: out.Body,
        contentLength: out.ContentLength,
        contentType: out.ContentType,
        contentRange: out.ContentRange,
        eTag: out.ETag,
        lastModified: out.LastModified,
        metadata: out.Metadata ?? {},
      };
    } catch (error) {
      throw this.notFound(error, bucket, key);
    }
  }

  /** The object's metadata, or undefined when there is no such object. */
  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        contentLength: out.ContentLength,
        contentType: out.ContentType,
        eTag: out.ETag,
        lastModified: out.LastModified,
        metadata: out.Metadata ?? {},
      };
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** Removes the object; removing one that is not there is not an error (S3 semantics). */
  async delete(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /**
   * A URL anyone holding it may GET (Range included) until it expires, without credentials:
   * how meters download firmware straight from S3.
   */
  async presignGet(
    bucket: string,
    key: string,
    { expiresInSeconds, signingDate }: PresignGetOptions,
  ): Promise<string> {
    if (
      !Number.isInteger(expiresInSeconds) ||
      expiresInSeconds < 1 ||
      expiresInSeconds > MAX_PRESIGN_SECONDS
    ) {
      throw new StorageError(
        'INVALID_ARGUMENT',
        `expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`,
      );
    }
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
      ...(signingDate ? { signingDate } : {}),
    });
  }

  private notFound(error: unknown, bucket: string, key: string): unknown {
    if (httpStatus(error) === 404) {
      return new StorageError('NOT_FOUND', `No object ${key} in bucket ${bucket}`, { cause: error });
    }
    return error;
  }
}
