import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { ExecutionsModule } from '../executions/executions.module';
import { ImagesModule } from '../images/images.module';
import { ManifestsModule } from '../manifests/manifests.module';
import { CheckInUseCase } from './check-in.use-case';
import { ConfirmInstallUseCase } from './confirm-install.use-case';
import { DeviceApiController } from './device-api.controller';
import { GetExecutionManifestUseCase } from './get-execution-manifest.use-case';
import { IssueDownloadUrlUseCase } from './issue-download-url.use-case';
import { ReceiptsRepository } from './receipts.repository';
import { ReportStatusUseCase } from './report-status.use-case';

/** The meters' side: check-in, manifest, download URL, status, receipt (spec §6.2). */
@Module({
  imports: [ExecutionsModule, DevicesModule, ImagesModule, ManifestsModule],
  controllers: [DeviceApiController],
  providers: [
    ReceiptsRepository,
    CheckInUseCase,
    GetExecutionManifestUseCase,
    IssueDownloadUrlUseCase,
    ReportStatusUseCase,
    ConfirmInstallUseCase,
  ],
})
export class DeviceApiModule {}
