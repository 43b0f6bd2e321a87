import { Module, type OnModuleInit } from '@nestjs/common';
import { startErasureCounterAtZero } from '../core/erasure-metrics';
import { KeyEpochsModule } from '../key-epochs/key-epochs.module';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { DataKeyVault } from './data-key-vault';
import { DataKeysInternalController } from './data-keys-internal.controller';
import { DataKeysController } from './data-keys.controller';
import { DataKeysRepository } from './data-keys.repository';
import { DestroyDataKeyUseCase } from './destroy-data-key.use-case';
import { GetDataKeyUseCase } from './get-data-key.use-case';
import { GetMeterDataKeysUseCase } from './get-meter-data-keys.use-case';

@Module({
  imports: [KeyEpochsModule, ReleaseKeysModule],
  controllers: [DataKeysController, DataKeysInternalController],
  providers: [
    DataKeysRepository,
    DataKeyVault,
    DestroyDataKeyUseCase,
    GetMeterDataKeysUseCase,
    GetDataKeyUseCase,
  ],
  exports: [DataKeyVault, DataKeysRepository, KeyEpochsModule],
})
export class DataKeysModule implements OnModuleInit {
  onModuleInit(): void {
    startErasureCounterAtZero();
  }
}
