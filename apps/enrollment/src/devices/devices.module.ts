import { Module } from '@nestjs/common';
import { InternalCallerGuard } from '@meterkeep/service-runtime';
import { CheckPskProofUseCase } from './check-psk-proof.use-case';
import { ClaimDeviceUseCase } from './claim-device.use-case';
import { DeviceEnroller } from './device-enroller';
import { DeviceLifecycleConsumer } from './device-lifecycle.consumer';
import { DevicesController } from './devices.controller';
import { DevicesRepository } from './devices.repository';
import { FactoryCredentialUseCase } from './factory-credential.use-case';
import { FactoryCredentialsController } from './factory-credentials.controller';
import { GetDeviceUseCase } from './get-device.use-case';
import { ListDevicesUseCase } from './list-devices.use-case';
import { PskProofsController } from './psk-proofs.controller';
import { RecordDeviceBootstrapUseCase } from './record-device-bootstrap.use-case';
import { SetDeviceGatewayUseCase } from './set-device-gateway.use-case';
import { TransitionDeviceUseCase } from './transition-device.use-case';

@Module({
  controllers: [
    DevicesController,
    FactoryCredentialsController,
    DeviceLifecycleConsumer,
    PskProofsController,
  ],
  providers: [
    DevicesRepository,
    DeviceEnroller,
    ClaimDeviceUseCase,
    GetDeviceUseCase,
    ListDevicesUseCase,
    TransitionDeviceUseCase,
    SetDeviceGatewayUseCase,
    FactoryCredentialUseCase,
    RecordDeviceBootstrapUseCase,
    CheckPskProofUseCase,
    InternalCallerGuard,
  ],
  exports: [DeviceEnroller],
})
export class DevicesModule {}
