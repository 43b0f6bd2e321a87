import { ExecutionsModule } from '../executions/executions.module';
import { Module } from '@nestjs/common';
import { CampaignProgressModule } from '../campaigns/campaign-progress.module';
import { DeviceClassesModule } from '../device-classes/device-classes.module';
import { ImagesModule } from '../images/images.module';
import { UpdateAuthoritiesModule } from '../update-authorities/update-authorities.module';
import { AcceptManifestUseCase } from './accept-manifest.use-case';
import { ManifestEnvelopes } from './manifest-envelopes';
import { ManifestsController } from './manifests.controller';
import { ManifestsRepository } from './manifests.repository';
import { RevokeManifestUseCase } from './revoke-manifest.use-case';

@Module({
  imports: [
    CampaignProgressModule,
    DeviceClassesModule,
    UpdateAuthoritiesModule,
    ImagesModule,
    ExecutionsModule,
  ],
  controllers: [ManifestsController],
  providers: [ManifestsRepository, ManifestEnvelopes, AcceptManifestUseCase, RevokeManifestUseCase],
  exports: [ManifestsRepository],
})
export class ManifestsModule {}
