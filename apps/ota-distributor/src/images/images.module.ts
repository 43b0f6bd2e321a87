import { Module } from '@nestjs/common';
import { DeviceClassesModule } from '../device-classes/device-classes.module';
import { CompleteImageUploadUseCase } from './complete-image-upload.use-case';
import { CreateImageUploadUseCase } from './create-image-upload.use-case';
import { FirmwareStore } from './firmware-store';
import { ImagesController } from './images.controller';
import { ImagesRepository } from './images.repository';

@Module({
  imports: [DeviceClassesModule],
  controllers: [ImagesController],
  providers: [ImagesRepository, FirmwareStore, CreateImageUploadUseCase, CompleteImageUploadUseCase],
  exports: [ImagesRepository, FirmwareStore],
})
export class ImagesModule {}
