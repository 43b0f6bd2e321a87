import { Module } from '@nestjs/common';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { CONFIG, DeviceListener, ServiceState, deviceListenerProviders } from '@meterkeep/service-runtime';
import { CampaignProgressModule } from '../campaigns/campaign-progress.module';
import type { OtaDistributorConfig } from '../config';
import { DevicesModule } from '../devices/devices.module';
import { ExecutionsModule } from '../executions/executions.module';
import { ImagesModule } from '../images/images.module';
import { ManifestsModule } from '../manifests/manifests.module';
import { CheckInUseCase } from './check-in.use-case';
import { ConfirmInstallUseCase } from './confirm-install.use-case';
import { DeltaEligibility } from './delta-eligibility';
import { DeviceApiController } from './device-api.controller';
import { DeviceEdge } from './device-edge';
import { DeviceEdgeErrors } from './device-edge.errors';
import { GetExecutionManifestUseCase } from './get-execution-manifest.use-case';
import { IssueDownloadUrlUseCase } from './issue-download-url.use-case';
import { ReceiptsRepository } from './receipts.repository';
import { ReportStatusUseCase } from './report-status.use-case';

/**
 * The meters' side of the distributor (spec §6.2): the mutual-TLS listener, the edge that authenticates
 * each request (DeviceEdge, applied by configureHttp) so controllers read the meter with CurrentMeter(),
 * and check-in, manifest, download URL, status and receipt. The device directory the edge asks comes
 * from DeviceDirectoryModule (AppModule).
 */
@Module({
  imports: [ExecutionsModule, DevicesModule, ImagesModule, ManifestsModule, CampaignProgressModule],
  controllers: [DeviceApiController],
  providers: [
    // The meters' listener on OTA_TLS_PORT, beside the plain one for operators and probes.
    ...deviceListenerProviders({
      inject: [CONFIG],
      useFactory: (config: OtaDistributorConfig) => ({
        port: config.OTA_TLS_PORT,
        hostnames: config.OTA_TLS_HOSTNAMES,
        certFile: config.OTA_TLS_CERT_FILE,
        keyFile: config.OTA_TLS_KEY_FILE,
        saturated: DeviceEdgeErrors.saturated(),
      }),
    }),
    DeviceEdge,
    ReceiptsRepository,
    DeltaEligibility,
    CheckInUseCase,
    GetExecutionManifestUseCase,
    IssueDownloadUrlUseCase,
    ReportStatusUseCase,
    ConfirmInstallUseCase,
  ],
  exports: [DeviceListener, DeviceEdge],
})
export class DeviceApiModule {
  constructor(state: ServiceState, sync: DirectorySync) {
    // Not ready before the directory knows every meter: until then they would all be told to retry.
    state.addProbe(sync.probe);
  }
}
