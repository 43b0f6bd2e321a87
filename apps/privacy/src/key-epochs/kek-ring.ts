import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import type { Executor } from '../core/database';
import { type DataKeyBinding, DataKeyCipher } from '../data-keys/data-key-cipher';
import { EpochKekCipher } from './epoch-kek-cipher';
import { KekEpochsRepository } from './kek-epochs.repository';
import { KekRingStore } from './kek-ring-store';

/** The epoch's KEK is gone (destroyed) or was never there: nothing wrapped under it opens again. */
export class KekEpochUnavailableError extends Error {
  constructor(readonly epoch: number) {
    super(`KEK epoch ${epoch} is destroyed or unknown: keys wrapped under it no longer open`);
    this.name = 'KekEpochUnavailableError';
  }
}

/** A data key as stored: wrapped, and the epoch whose KEK wrapped it. */
export interface StoredDataKey {
  wrappedKey: Buffer;
  kekEpoch: number;
}

/**
 * KEK epochs, so that a restored backup cannot bring an erased data key back.
 *
 * Destroying a data key nulls its row, but WAL, replicas and backups keep the old row. So data keys are
 * wrapped not under one long-lived KEK but under the current *epoch*'s: an independent random 256-bit
 * KEK. A rotation (RotateKekUseCase) opens a new epoch and re-wraps every live key to it; once the old
 * epoch has held no live key for longer than any backup is kept (PRIVACY_BACKUP_RETENTION_DAYS), its
 * KEK is destroyed, and every copy of a key wrapped under it, in any backup, is noise.
 *
 * Epoch KEKs are not in PostgreSQL (backups would hold them): each is an S3 object (KekRingStore)
 * wrapped under the master PRIVACY_KEK, which unlocks the ring and wraps no data key except those of
 * epoch 0: the keys made before epochs, wrapped under PRIVACY_KEK itself, which the first rotation moves.
 *
 * What remains (the erasure certificate's residual copies): a backup keeps a destroyed key recoverable
 * until its epoch is destroyed (retired + retention); copies of the ring's objects (S3 versioning,
 * replication or backups of that bucket) keep it as long as they live, so they must be off or shorter
 * than the retention; backups from before the first rotation hold epoch-0 keys, which PRIVACY_KEK
 * itself unwraps for as long as that key is kept; and replicas keep an epoch KEK in memory until their
 * next check (PRIVACY_KEK_CHECK_INTERVAL_S) sees the epoch destroyed.
 */
@Injectable()
export class KekRing {
  private readonly ringCipher: EpochKekCipher;
  private readonly legacyCipher: DataKeyCipher;
  /** Unwrapped epoch KEKs as data-key ciphers, by epoch; dropped when the epoch is destroyed. */
  private readonly ciphers = new Map<number, Promise<DataKeyCipher>>();
  private legacyDestroyed = false;

  constructor(
    private readonly epochs: KekEpochsRepository,
    private readonly ring: KekRingStore,
    @Inject(CONFIG) config: Pick<PrivacyConfig, 'PRIVACY_KEK'>,
  ) {
    this.ringCipher = new EpochKekCipher(config.PRIVACY_KEK);
    this.legacyCipher = new DataKeyCipher(config.PRIVACY_KEK);
  }

  /** Wraps a new data key under the current epoch, read in the caller's transaction. */
  async wrap(executor: Executor, key: Buffer, binding: DataKeyBinding): Promise<StoredDataKey> {
    const current = await this.epochs.current(executor);
    return this.wrapUnder(current.epoch, key, binding, executor);
  }

  /**
   * A caller inside a transaction passes it: loading an epoch's KEK reads its row, and asking the pool
   * for a second connection while holding one deadlocks once every connection waits on that load.
   */
  async wrapUnder(
    epoch: number,
    key: Buffer,
    binding: DataKeyBinding,
    executor?: Executor,
  ): Promise<StoredDataKey> {
    return { wrappedKey: (await this.cipher(epoch, executor)).wrap(key, binding), kekEpoch: epoch };
  }

  /** The plain key; KekEpochUnavailableError when its epoch's KEK is gone. */
  async unwrap(stored: StoredDataKey, binding: DataKeyBinding, executor?: Executor): Promise<Buffer> {
    return (await this.cipher(stored.kekEpoch, executor)).unwrap(stored.wrappedKey, binding);
  }

  /**
   * Makes a new epoch KEK and stores it in the ring (before its row exists: a crash in between leaves
   * an object no row names, which wraps nothing). Answers the epoch's ring reference.
   */
  async createEpochKek(epoch: number): Promise<string> {
    const ringRef = `${epoch}-${randomBytes(12).toString('hex')}`;
    const kek = EpochKekCipher.generate();
    await this.ring.put(ringRef, this.ringCipher.wrap(kek, ringRef));
    this.ciphers.set(epoch, Promise.resolve(new DataKeyCipher(kek)));
    kek.fill(0);
    return ringRef;
  }

  /** Deletes the epoch's KEK from the ring and from this process. */
  async destroyEpochKek(epoch: number, ringRef: string | null): Promise<void> {
    this.forget(epoch);
    if (ringRef !== null) await this.ring.delete(ringRef);
  }

  /** Drops an epoch this process may hold (another replica destroyed it). */
  forget(epoch: number): void {
    if (epoch === 0) this.legacyDestroyed = true;
    this.ciphers.delete(epoch);
  }

  private cipher(epoch: number, executor?: Executor): Promise<DataKeyCipher> {
    if (epoch === 0) {
      return this.legacyDestroyed
        ? Promise.reject(new KekEpochUnavailableError(0))
        : Promise.resolve(this.legacyCipher);
    }
    let cipher = this.ciphers.get(epoch);
    if (!cipher) {
      cipher = this.load(epoch, executor);
      this.ciphers.set(epoch, cipher);
      // A failed load is not remembered: the next call asks again.
      void cipher.catch(() => this.ciphers.delete(epoch));
    }
    return cipher;
  }

  private async load(epoch: number, executor?: Executor): Promise<DataKeyCipher> {
    const row = await this.epochs.find(epoch, executor);
    if (!row || row.ring_ref === null || row.destroyed_at !== null) throw new KekEpochUnavailableError(epoch);
    const wrapped = await this.ring.get(row.ring_ref);
    if (!wrapped) throw new KekEpochUnavailableError(epoch);
    const kek = this.ringCipher.unwrap(wrapped, row.ring_ref);
    const cipher = new DataKeyCipher(kek);
    kek.fill(0);
    return cipher;
  }
}
