import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { backupsRecoverableUntil } from './kek-epoch-policy';
import { KekEpochsRepository } from './kek-epochs.repository';

/** A residual copy as the erasure certificate states it (spec privacy.md §4.6 `residualCopies`). */
export interface BackupResidualCopy {
  where: 'PostgreSQL WAL, replicas and backups of the privacy database';
  what: 'wrapped data keys';
  kekEpoch: number;
  /** From when no retained backup can open the key; null: not while PRIVACY_KEK is kept (epoch 0). */
  unrecoverableAfter: string | null;
  /** The date assumes the epoch's rotation happens on schedule (the epoch is still in use). */
  estimated: boolean;
}

/** For an erasure certificate: how long backups keep a destroyed key recoverable, from its KEK epoch. */
@Injectable()
export class BackupResiduals {
  constructor(
    private readonly epochs: KekEpochsRepository,
    @Inject(CONFIG)
    private readonly config: Pick<
      PrivacyConfig,
      'PRIVACY_KEK_ROTATION_DAYS' | 'PRIVACY_BACKUP_RETENTION_DAYS'
    >,
  ) {}

  async forEpoch(kekEpoch: number): Promise<BackupResidualCopy> {
    const epoch = await this.epochs.find(kekEpoch);
    if (!epoch) throw new Error(`No KEK epoch ${kekEpoch}`);
    const { until, estimated } = backupsRecoverableUntil(epoch, {
      rotationDays: this.config.PRIVACY_KEK_ROTATION_DAYS,
      backupRetentionDays: this.config.PRIVACY_BACKUP_RETENTION_DAYS,
    });
    return {
      where: 'PostgreSQL WAL, replicas and backups of the privacy database',
      what: 'wrapped data keys',
      kekEpoch,
      unrecoverableAfter: until?.toISOString() ?? null,
      estimated,
    };
  }
}
