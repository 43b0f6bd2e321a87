import { Body, Controller, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  OTA_CAMPAIGN_APPROVE,
  OTA_CAMPAIGN_CREATE,
  OTA_CAMPAIGN_DENY,
  OTA_CAMPAIGN_GET,
  OTA_CAMPAIGN_SUBMIT,
  type OtaCampaignDefinition,
  campaignCreate,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  WRITERS,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { CreateCampaignUseCase } from './create-campaign.use-case';
import { DecideCampaignUseCase } from './decide-campaign.use-case';

const campaignIdPipe = new ZodPipe(OTA_CAMPAIGN_GET.params.campaignId, 'campaign id');

/** Operators create and decide campaigns (approver ≠ creator, auditors never decide); every role reads. */
@ApiTags('Firmware campaigns')
@AuthenticatedByEnrollment()
@Controller()
export class CampaignsController {
  constructor(
    private readonly create: CreateCampaignUseCase,
    private readonly decide: DecideCampaignUseCase,
    private readonly campaigns: CampaignsRepository,
  ) {}

  @ContractRoute(OTA_CAMPAIGN_CREATE)
  @Roles(...WRITERS)
  createCampaign(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(campaignCreate)) body: OtaCampaignDefinition,
  ) {
    return this.create.execute(caller, body);
  }

  @ContractRoute(OTA_CAMPAIGN_GET)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    const row = await this.campaigns.find(caller.tenantId, campaignId);
    if (!row) throw CampaignErrors.campaignNotFound();
    return campaignView(
      row,
      await this.campaigns.phases(campaignId),
      await this.campaigns.counts(campaignId),
    );
  }

  @ContractRoute(OTA_CAMPAIGN_SUBMIT)
  @Roles(...WRITERS)
  submit(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'submit');
  }

  @ContractRoute(OTA_CAMPAIGN_APPROVE)
  @Roles(...WRITERS)
  approve(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'approve');
  }

  @ContractRoute(OTA_CAMPAIGN_DENY)
  @Roles(...WRITERS)
  deny(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'deny');
  }
}
