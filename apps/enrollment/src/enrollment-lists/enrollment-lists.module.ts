import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { EnrollmentListsController } from './enrollment-lists.controller';
import { EnrollmentUploadsRepository } from './enrollment-uploads.repository';
import { GetEnrollmentUploadUseCase } from './get-enrollment-upload.use-case';
import { UploadEnrollmentListUseCase } from './upload-enrollment-list.use-case';

@Module({
  imports: [DevicesModule],
  controllers: [EnrollmentListsController],
  providers: [EnrollmentUploadsRepository, UploadEnrollmentListUseCase, GetEnrollmentUploadUseCase],
})
export class EnrollmentListsModule {}
