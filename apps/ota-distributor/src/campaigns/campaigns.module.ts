import { Module } from '@nestjs/common';
import { ManifestsModule } from '../manifests/manifests.module';
import { CampaignsController } from './campaigns.controller';
import { CampaignsRepository } from './campaigns.repository';
import { CreateCampaignUseCase } from './create-campaign.use-case';
import { DecideCampaignUseCase } from './decide-campaign.use-case';

@Module({
  imports: [ManifestsModule],
  controllers: [CampaignsController],
  providers: [CampaignsRepository, CreateCampaignUseCase, DecideCampaignUseCase],
})
export class CampaignsModule {}
