import { Module } from '@nestjs/common';
import { DeviceClassesController } from './device-classes.controller';
import { DeviceClassesRepository } from './device-classes.repository';
import { PutDeviceClassUseCase } from './put-device-class.use-case';

@Module({
  controllers: [DeviceClassesController],
  providers: [DeviceClassesRepository, PutDeviceClassUseCase],
  exports: [DeviceClassesRepository],
})
export class DeviceClassesModule {}
