import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { type CompletedPart, type ObjectDigest, ObjectStore, StorageError } from '@meterkeep/storage';
import { FIRMWARE_STORAGE } from '../core/tokens';
import type { PlannedPart } from './upload-plan';

export interface FirmwareStorageOptions {
  bucket: string;
  /** Life of a presigned part URL. */
  uploadUrlExpirySeconds: number;
}

export interface PresignedPart extends PlannedPart {
  url: string;
}

/** Firmware bytes in S3: multipart uploads to staging keys, digests, content-addressed copies. */
@Injectable()
export class FirmwareStore implements OnModuleInit {
  constructor(
    private readonly store: ObjectStore,
    @Inject(FIRMWARE_STORAGE) private readonly options: FirmwareStorageOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.store.ensureBucket(this.options.bucket);
  }

  get uploadUrlExpirySeconds(): number {
    return this.options.uploadUrlExpirySeconds;
  }

  startUpload(key: string): Promise<string> {
    return this.store.createMultipartUpload(this.options.bucket, key, 'application/octet-stream');
  }

  /** One presigned PUT per part, each bound to its exact length. Secrets of the caller: never log them. */
  presignParts(key: string, uploadId: string, parts: readonly PlannedPart[]): Promise<PresignedPart[]> {
    return Promise.all(
      parts.map(async (part) => ({
        ...part,
        url: await this.store.presignUploadPart(this.options.bucket, key, uploadId, part.partNumber, {
          expiresInSeconds: this.options.uploadUrlExpirySeconds,
          contentLength: part.size,
        }),
      })),
    );
  }

  /**
   * A presigned GET of one object (Range requests included), for a meter: a bearer secret until it
   * expires. Answered to the meter only; never logged, never on a topic.
   */
  presignDownload(key: string, expiresInSeconds: number, signingDate: Date): Promise<string> {
    return this.store.presignGet(this.options.bucket, key, { expiresInSeconds, signingDate });
  }

  /** Assembles the parts; false when S3 refuses the part list (wrong ETag, missing part). */
  async completeUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<boolean> {
    try {
      await this.store.completeMultipartUpload(this.options.bucket, key, uploadId, parts);
      return true;
    } catch (error) {
      if (error instanceof StorageError && (error.code === 'INVALID_ARGUMENT' || error.code === 'NOT_FOUND'))
        return false;
      throw error;
    }
  }

  abortUpload(key: string, uploadId: string): Promise<void> {
    return this.store.abortMultipartUpload(this.options.bucket, key, uploadId);
  }

  /** The stored object's length, without reading it; undefined when there is none. */
  async size(key: string): Promise<number | undefined> {
    return (await this.store.head(this.options.bucket, key))?.contentLength;
  }

  /** Reads the object once, streaming: SHA-256 and length, stopping past `maxBytes`. */
  digest(key: string, maxBytes: number): Promise<ObjectDigest> {
    return this.store.digest(this.options.bucket, key, maxBytes);
  }

  /** Copies to the content-addressed key unless an object is there; answers whether it copied. */
  copyIfAbsent(sourceKey: string, key: string): Promise<boolean> {
    return this.store.copyIfAbsent(this.options.bucket, sourceKey, key);
  }

  /**
   * Stores `bytes` under `key` unless an object is there already (never overwritten). Answers whether
   * the key now holds exactly these bytes; false when it holds others. Callers serialise writers of
   * one key (the HEAD-then-PUT is not atomic).
   */
  async putIfAbsent(key: string, bytes: Buffer, contentType: string): Promise<boolean> {
    if ((await this.store.head(this.options.bucket, key)) === undefined) {
      await this.store.put(this.options.bucket, key, bytes, { contentType, contentLength: bytes.length });
      return true;
    }
    const stored = await this.read(key, bytes.length);
    return stored !== undefined && stored.equals(bytes);
  }

  /** The whole object, read only up to `maxBytes`; undefined when it is longer. */
  async read(key: string, maxBytes: number): Promise<Buffer | undefined> {
    const { body } = await this.store.get(this.options.bucket, key);
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxBytes) {
        body.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  delete(key: string): Promise<void> {
    return this.store.delete(this.options.bucket, key);
  }
}
