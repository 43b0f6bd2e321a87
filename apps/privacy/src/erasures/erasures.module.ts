import { type DynamicModule, Module } from '@nestjs/common';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { ExportsModule } from '../exports/exports.module';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { RetentionModule } from '../retention/retention.module';
import {
  CONFIRMATIONS_GROUP,
  ErasureConfirmationsConsumer,
  confirmationsGroupFor,
} from './erasure-confirmations.consumer';
import { ErasureSaga } from './erasure-saga';
import { ErasuresController } from './erasures.controller';
import { ErasuresRepository } from './erasures.repository';
import { GetErasureUseCase } from './get-erasure.use-case';
import { ReadingsInventory } from './readings-inventory';
import { RequestErasureUseCase } from './request-erasure.use-case';
import { RetryErasureUseCase } from './retry-erasure.use-case';
// Registers RequestErasure and Erasure for the OpenAPI document.
import './erasures.schemas';

/** Erasure sagas (Art. 17) and their certificates; retention keys take their dates from retention/. */
@Module({})
export class ErasuresModule {
  static forRoot(options: { schema?: string } = {}): DynamicModule {
    return {
      module: ErasuresModule,
      // Global: decommissioning (decommissions/) records erasures through the same use case and saga.
      global: true,
      imports: [DataKeysModule, ReleaseKeysModule, RetentionModule, ExportsModule],
      controllers: [ErasuresController],
      providers: [
        ErasuresRepository,
        ErasureSaga,
        ReadingsInventory,
        RequestErasureUseCase,
        GetErasureUseCase,
        RetryErasureUseCase,
        ErasureConfirmationsConsumer,
        { provide: CONFIRMATIONS_GROUP, useValue: confirmationsGroupFor(options.schema) },
      ],
      exports: [RequestErasureUseCase, ErasuresRepository, ErasureSaga],
    };
  }
}
