import { Module } from '@nestjs/common';
import { CampaignProgressModule } from '../campaigns/campaign-progress.module';
import { ExecutionsModule } from '../executions/executions.module';
import { ApplyDeviceStateUseCase } from './apply-device-state.use-case';
import { DeviceEventsConsumer } from './device-events.consumer';
import { DevicesRepository } from './devices.repository';

@Module({
  imports: [ExecutionsModule, CampaignProgressModule],
  controllers: [DeviceEventsConsumer],
  providers: [DevicesRepository, ApplyDeviceStateUseCase],
  exports: [DevicesRepository, ApplyDeviceStateUseCase],
})
export class DevicesModule {}
