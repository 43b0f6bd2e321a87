import { Module } from '@nestjs/common';
import { ManifestsModule } from '../manifests/manifests.module';
import { CampaignAdmission } from './campaign-admission';
import { CampaignCancellation } from './campaign-cancellation';
import { CampaignPlanner } from './campaign-planner';
import { CampaignProgressModule } from './campaign-progress.module';
import { CampaignTicker } from './campaign-ticker';
import { CampaignRetries } from './campaign-retries';
import { GetCampaignUseCase } from './get-campaign.use-case';
import { CampaignTimeouts } from './campaign-timeouts';
import { CampaignsController } from './campaigns.controller';
import { ControlCampaignUseCase } from './control-campaign.use-case';
import { CreateCampaignUseCase } from './create-campaign.use-case';
import { DecideCampaignUseCase } from './decide-campaign.use-case';
import { NextPhaseUseCase } from './next-phase.use-case';
import { PhaseAdvance } from './phase-advance';
import { RetryFailedUseCase } from './retry-failed.use-case';
import { SimulateCampaignUseCase } from './simulate-campaign.use-case';
import { StartCampaignUseCase } from './start-campaign.use-case';

@Module({
  imports: [ManifestsModule, CampaignProgressModule],
  controllers: [CampaignsController],
  providers: [
    CreateCampaignUseCase,
    DecideCampaignUseCase,
    StartCampaignUseCase,
    SimulateCampaignUseCase,
    ControlCampaignUseCase,
    NextPhaseUseCase,
    RetryFailedUseCase,
    CampaignAdmission,
    CampaignPlanner,
    CampaignCancellation,
    CampaignTimeouts,
    CampaignRetries,
    GetCampaignUseCase,
    PhaseAdvance,
    CampaignTicker,
  ],
  exports: [CampaignTicker],
})
export class CampaignsModule {}
