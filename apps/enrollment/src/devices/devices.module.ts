import { Module } from '@nestjs/common';
import { InternalTokenGuard } from '@meterkeep/service-runtime';
import { AssignGatewayUseCase } from './assign-gateway.use-case';
import { CheckPskProofUseCase } from './check-psk-proof.use-case';
import { ClaimDeviceUseCase } from './claim-device.use-case';
import { DecommissionDeviceUseCase } from './decommission-device.use-case';
import { DeviceEnroller } from './device-enroller';
import { DeviceGateways } from './device-gateways';
import { DeviceLifecycleConsumer } from './device-lifecycle.consumer';
import { DeviceTransitions } from './device-transitions';
import { DevicesController } from './devices.controller';
import { DevicesRepository } from './devices.repository';
import { GetDeviceUseCase } from './get-device.use-case';
import { ListDevicesUseCase } from './list-devices.use-case';
import { PskProofsController } from './psk-proofs.controller';
import { RecordDeviceBootstrapUseCase } from './record-device-bootstrap.use-case';
import { ResumeDeviceUseCase } from './resume-device.use-case';
import { SuspendDeviceUseCase } from './suspend-device.use-case';
import { UnassignGatewayUseCase } from './unassign-gateway.use-case';

@Module({
  controllers: [DevicesController, DeviceLifecycleConsumer, PskProofsController],
  providers: [
    DevicesRepository,
    DeviceEnroller,
    DeviceTransitions,
    ClaimDeviceUseCase,
    GetDeviceUseCase,
    ListDevicesUseCase,
    SuspendDeviceUseCase,
    ResumeDeviceUseCase,
    DecommissionDeviceUseCase,
    DeviceGateways,
    AssignGatewayUseCase,
    UnassignGatewayUseCase,
    RecordDeviceBootstrapUseCase,
    CheckPskProofUseCase,
    InternalTokenGuard,
  ],
  exports: [DeviceEnroller],
})
export class DevicesModule {}
