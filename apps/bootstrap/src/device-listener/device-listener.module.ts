import { Module } from '@nestjs/common';
import { DeviceListener } from './device-listener';
import { ServerCaController } from './server-ca.controller';

@Module({
  controllers: [ServerCaController],
  providers: [DeviceListener],
  exports: [DeviceListener],
})
export class DeviceListenerModule {}
