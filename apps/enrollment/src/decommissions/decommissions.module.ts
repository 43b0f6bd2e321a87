import { type DynamicModule, Module } from '@nestjs/common';
import { DecommissionSaga } from './decommission-saga';
import {
  DECOMMISSION_CONFIRMATIONS_GROUP,
  DecommissionConfirmationsConsumer,
  decommissionConfirmationsGroupFor,
} from './decommission-confirmations.consumer';
import { DecommissionsController } from './decommissions.controller';
import { DecommissionsRepository } from './decommissions.repository';
import { GetDecommissionUseCase } from './get-decommission.use-case';

/** Decommissioning as one flow across the services, ending in a signed record on the audit chain. */
@Module({})
export class DecommissionsModule {
  static forRoot(schema?: string): DynamicModule {
    return {
      module: DecommissionsModule,
      global: true,
      controllers: [DecommissionsController],
      providers: [
        DecommissionsRepository,
        DecommissionSaga,
        DecommissionConfirmationsConsumer,
        GetDecommissionUseCase,
        { provide: DECOMMISSION_CONFIRMATIONS_GROUP, useValue: decommissionConfirmationsGroupFor(schema) },
      ],
      exports: [DecommissionSaga],
    };
  }
}
