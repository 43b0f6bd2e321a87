import { Module } from '@nestjs/common';
import { BackupResiduals } from './backup-residuals';
import { KekEpochsRepository } from './kek-epochs.repository';
import { KEK_CLOCK, KekMaintenance } from './kek-maintenance';
import { KekRing } from './kek-ring';
import { KekRingStore } from './kek-ring-store';
import { RotateKekUseCase } from './rotate-kek.use-case';

/** KEK epochs: the ring of epoch KEKs, their rotation and destruction (see KekRing). */
@Module({
  providers: [
    KekEpochsRepository,
    KekRingStore,
    KekRing,
    RotateKekUseCase,
    KekMaintenance,
    BackupResiduals,
    { provide: KEK_CLOCK, useValue: () => new Date() },
  ],
  exports: [KekRing, RotateKekUseCase, BackupResiduals],
})
export class KeyEpochsModule {}
