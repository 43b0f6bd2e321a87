import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { ExecutionsModule } from '../executions/executions.module';
import { ManifestsModule } from '../manifests/manifests.module';
import { CreateDeploymentUseCase } from './create-deployment.use-case';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsRepository } from './deployments.repository';
import { GetDeviceFirmwareUseCase } from './get-device-firmware.use-case';

@Module({
  imports: [DevicesModule, ExecutionsModule, ManifestsModule],
  controllers: [DeploymentsController],
  providers: [DeploymentsRepository, CreateDeploymentUseCase, GetDeviceFirmwareUseCase],
})
export class DeploymentsModule {}
