import { Inject, Injectable } from '@nestjs/common';
import { ObjectStore, StorageError } from '@meterkeep/storage';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { WRAPPED_EPOCH_KEK_BYTES } from './epoch-kek-cipher';

/**
 * Where epoch KEKs live: one S3 object per epoch (wrapped under PRIVACY_KEK), outside PostgreSQL so
 * that no database backup holds them. Destroying an epoch deletes its object.
 */
@Injectable()
export class KekRingStore {
  private bucketReady = false;

  constructor(
    private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_KEK_RING_BUCKET'>,
  ) {}

  private get bucket(): string {
    return this.config.PRIVACY_KEK_RING_BUCKET;
  }

  async put(ringRef: string, wrappedKek: Buffer): Promise<void> {
    if (!this.bucketReady) {
      await this.store.ensureBucket(this.bucket);
      this.bucketReady = true;
    }
    await this.store.put(this.bucket, objectKey(ringRef), wrappedKek, {
      contentType: 'application/octet-stream',
    });
  }

  /** The wrapped KEK, or undefined once the epoch's object is gone. Never reads more than one KEK. */
  async get(ringRef: string): Promise<Buffer | undefined> {
    let result;
    try {
      result = await this.store.get(this.bucket, objectKey(ringRef), {
        range: { start: 0, end: WRAPPED_EPOCH_KEK_BYTES },
      });
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of result.body as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async delete(ringRef: string): Promise<void> {
    await this.store.delete(this.bucket, objectKey(ringRef));
  }
}

const objectKey = (ringRef: string) => `kek-epochs/${ringRef}`;
