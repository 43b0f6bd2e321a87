import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
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

export interface PresignPartOptions {
  expiresInSeconds: number;
  /** The part's exact length: signed, so S3 refuses a PUT of any other length. */
  contentLength: number;
}

export interface CompletedPart {
  partNumber: number;
  eTag: string;
}

/** What a full read of an object measured. */
export interface ObjectDigest {
  sha256Hex: string;
  bytes: number;
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

function assertExpiry(expiresInSeconds: number): void {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`,
    );
  }
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
    assertExpiry(expiresInSeconds);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
      ...(signingDate ? { signingDate } : {}),
    });
  }

  /** Starts a multipart upload to `key`; its parts are PUT through presignUploadPart URLs. */
  async createMultipartUpload(bucket: string, key: string, contentType: string): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
    );
    if (!out.UploadId) throw new Error('S3 CreateMultipartUpload returned no upload id');
    return out.UploadId;
  }

  /**
   * A URL anyone holding it may PUT one part with, until it expires. The length is a signed header:
   * S3 refuses a body of any other length (SigV4), so a part URL carries at most the bytes planned.
   */
  async presignUploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    { expiresInSeconds, contentLength }: PresignPartOptions,
  ): Promise<string> {
    assertExpiry(expiresInSeconds);
    return getSignedUrl(
      this.client,
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        ContentLength: contentLength,
      }),
      { expiresIn: expiresInSeconds, signableHeaders: new Set(['content-length']) },
    );
  }

  /**
   * Assembles the uploaded parts into the object. S3's refusal of the part list (a wrong ETag, a
   * missing part, a part too small) is a StorageError INVALID_ARGUMENT; a missing upload NOT_FOUND.
   */
  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
  ): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: [...parts]
              .sort((a, b) => a.partNumber - b.partNumber)
              .map(({ partNumber, eTag }) => ({ PartNumber: partNumber, ETag: eTag })),
          },
        }),
      );
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404)
        throw new StorageError('NOT_FOUND', `No upload ${uploadId} of ${key}`, { cause: error });
      if (status === 400)
        throw new StorageError('INVALID_ARGUMENT', `S3 refused the part list of ${key}`, { cause: error });
      throw error;
    }
  }

  /** Drops an unfinished multipart upload and its parts; one that is gone is not an error. */
  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if (httpStatus(error) !== 404) throw error;
    }
  }

  /**
   * Reads the whole object once, streaming, and measures its SHA-256 and length: memory stays at one
   * chunk whatever the size. Stops with INVALID_ARGUMENT past `maxBytes`.
   */
  async digest(bucket: string, key: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<ObjectDigest> {
    const { body } = await this.get(bucket, key);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        body.destroy();
        throw new StorageError('INVALID_ARGUMENT', `${key} is longer than ${maxBytes} bytes`);
      }
      hash.update(chunk);
    }
    return { sha256Hex: hash.digest('hex'), bytes };
  }

  /**
   * Copies `sourceKey` to `key` unless an object is there already; answers whether it copied. Sends
   * `If-None-Match: *` (S3 refuses with 412 when the key exists, even in a race) and HEADs first, as
   * not every S3 API server honours the condition on a copy (S3Proxy 4.1 ignores it): callers that
   * need exclusion in a race serialise writers of one key themselves.
   */
  async copyIfAbsent(bucket: string, sourceKey: string, key: string): Promise<boolean> {
    if (await this.head(bucket, key)) return false;
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: `${bucket}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      if (httpStatus(error) === 412) return false;
      throw this.notFound(error, bucket, sourceKey);
    }
  }

  private notFound(error: unknown, bucket: string, key: string): unknown {
    if (httpStatus(error) === 404) {
      return new StorageError('NOT_FOUND', `No object ${key} in bucket ${bucket}`, { cause: error });
    }
    return error;
  }
}
