import { Inject, Injectable } from '@nestjs/common';
import { PLATFORM_AUDIT_CHAIN } from '@meterkeep/contracts';
import { CONFIG } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { Transactions } from '../outbox/transactions';
import { type KekEpochSchedule, destructionDue, rotationDue } from './kek-epoch-policy';
import { KekEpochsRepository } from './kek-epochs.repository';
import { KekRing } from './kek-ring';

export interface RotateKekOptions {
  /** The clock (tests pass one to let time pass). */
  now?: Date;
  /** Open a new epoch even when the current one is not due. */
  force?: boolean;
  /** Keys re-wrapped per transaction. */
  batchSize?: number;
  /** Stop after this many batches (bounded work per run); the next run resumes. */
  maxBatches?: number;
  /** Who asked: audited. */
  actor?: string;
}

export interface RotateKekReport {
  /** Another run (this replica or another) holds the rotation lock: nothing was done. */
  busy: boolean;
  currentEpoch: number;
  openedEpoch?: number;
  rewrapped: number;
  /** Every live key is in the current epoch. */
  complete: boolean;
  retiredEpochs: number[];
  destroyedEpochs: number[];
}

const DEFAULT_BATCH = 500;

/**
 * Turns KEK epochs over (see KekRing): opens a new epoch when the current one is due (or forced),
 * re-wraps every live key outside the current epoch to it in batches, marks an epoch retired once it
 * holds no live key, and destroys the KEK of every epoch retired longer than the backup retention.
 *
 * Safe to run from any replica at any time: a session advisory lock lets one run at a time (others
 * answer busy); each batch commits on its own, so a run stopped anywhere is resumed by the next, and
 * running it again when nothing is due changes nothing. Destroyed keys are never touched. Audited on
 * the platform's chain; nothing secret is logged or audited.
 */
@Injectable()
export class RotateKekUseCase {
  private readonly schedule: KekEpochSchedule;

  constructor(
    private readonly epochs: KekEpochsRepository,
    private readonly ring: KekRing,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(CONFIG)
    config: Pick<PrivacyConfig, 'PRIVACY_KEK_ROTATION_DAYS' | 'PRIVACY_BACKUP_RETENTION_DAYS'>,
  ) {
    this.schedule = {
      rotationDays: config.PRIVACY_KEK_ROTATION_DAYS,
      backupRetentionDays: config.PRIVACY_BACKUP_RETENTION_DAYS,
    };
  }

  async execute(options: RotateKekOptions = {}): Promise<RotateKekReport> {
    const report = await this.epochs.withRotationLock(() => this.rotate(options));
    if (report) return report;
    const current = await this.epochs.current();
    return {
      busy: true,
      currentEpoch: current.epoch,
      rewrapped: 0,
      complete: false,
      retiredEpochs: [],
      destroyedEpochs: [],
    };
  }

  private async rotate(options: RotateKekOptions): Promise<RotateKekReport> {
    const now = options.now ?? new Date();
    const actor = options.actor ?? 'service:privacy';
    let current = await this.epochs.current();
    let openedEpoch: number | undefined;
    if (options.force === true || rotationDue(current, now, this.schedule)) {
      current = await this.openEpoch(now, actor);
      openedEpoch = current.epoch;
    }
    const { rewrapped, complete, movedFrom } = await this.rewrapLiveKeys(current.epoch, options);
    const retiredEpochs = complete ? await this.retireEmptyEpochs(current.epoch, movedFrom, now, actor) : [];
    const destroyedEpochs = await this.destroyExpiredEpochs(current.epoch, now, actor);
    return {
      busy: false,
      currentEpoch: current.epoch,
      ...(openedEpoch !== undefined && { openedEpoch }),
      rewrapped,
      complete,
      retiredEpochs,
      destroyedEpochs,
    };
  }

  private async openEpoch(now: Date, actor: string) {
    const epoch = await this.epochs.nextEpoch(this.epochs.db);
    const ringRef = await this.ring.createEpochKek(epoch);
    return this.transactions.run(async (trx) => {
      const opened = await this.epochs.insert(trx, epoch, ringRef, now);
      await this.audit.append(
        trx,
        PLATFORM_AUDIT_CHAIN,
        [{ action: 'privacy.kek-epoch-opened', actor, subject: `kek-epoch-${epoch}`, outcome: 'allowed' }],
        now,
      );
      return opened;
    });
  }

  private async rewrapLiveKeys(current: number, { batchSize = DEFAULT_BATCH, maxBatches }: RotateKekOptions) {
    let rewrapped = 0;
    const movedFrom = new Set<number>();
    for (let batch = 0; maxBatches === undefined || batch < maxBatches; batch++) {
      const moved = await this.transactions.run(async (trx) => {
        const keys = await this.epochs.lockLiveKeysOutside(trx, current, batchSize);
        for (const key of keys) {
          const binding = { tenantId: key.tenant_id, meterId: key.meter_id, keyId: key.key_id };
          const plain = await this.ring.unwrap(
            { wrappedKey: key.wrapped_key, kekEpoch: key.kek_epoch },
            binding,
            trx,
          );
          const { wrappedKey } = await this.ring.wrapUnder(current, plain, binding, trx);
          plain.fill(0);
          await this.epochs.rewrap(trx, key.key_id, wrappedKey, current);
          movedFrom.add(key.kek_epoch);
        }
        return keys.length;
      });
      rewrapped += moved;
      if (moved < batchSize) return { rewrapped, complete: true, movedFrom };
    }
    const left = await this.epochs.lockLiveKeysOutside(this.epochs.db, current, 1);
    return { rewrapped, complete: left.length === 0, movedFrom };
  }

  /**
   * Epochs below the current one that hold no live key become retired now; one retired before that had
   * keys moved off it just now (a replica wrapped a key under it late) is retired again from now.
   */
  private async retireEmptyEpochs(current: number, movedFrom: Set<number>, now: Date, actor: string) {
    const retired: number[] = [];
    for (const epoch of await this.epochs.all()) {
      if (epoch.epoch >= current || epoch.destroyed_at !== null) continue;
      if (epoch.retired_at !== null && !movedFrom.has(epoch.epoch)) continue;
      await this.transactions.run(async (trx) => {
        await this.epochs.retire(trx, epoch.epoch, now);
        await this.audit.append(
          trx,
          PLATFORM_AUDIT_CHAIN,
          [
            {
              action: 'privacy.kek-epoch-retired',
              actor,
              subject: `kek-epoch-${epoch.epoch}`,
              outcome: 'allowed',
              detail: { currentEpoch: current },
            },
          ],
          now,
        );
      });
      retired.push(epoch.epoch);
    }
    return retired;
  }

  private async destroyExpiredEpochs(current: number, now: Date, actor: string) {
    const destroyed: number[] = [];
    for (const epoch of await this.epochs.all()) {
      if (epoch.epoch >= current || !destructionDue(epoch, now, this.schedule)) continue;
      // A key wrapped late under it (and not moved yet) keeps it: destroying would lose a live key.
      if ((await this.epochs.liveKeys(this.epochs.db, epoch.epoch)) > 0) continue;
      await this.ring.destroyEpochKek(epoch.epoch, epoch.ring_ref);
      await this.transactions.run(async (trx) => {
        await this.epochs.markDestroyed(trx, epoch.epoch, now);
        await this.audit.append(
          trx,
          PLATFORM_AUDIT_CHAIN,
          [
            {
              action: 'privacy.kek-epoch-destroyed',
              actor,
              subject: `kek-epoch-${epoch.epoch}`,
              outcome: 'allowed',
              detail: { retiredAt: epoch.retired_at!.toISOString() },
            },
          ],
          now,
        );
      });
      destroyed.push(epoch.epoch);
    }
    return destroyed;
  }
}
