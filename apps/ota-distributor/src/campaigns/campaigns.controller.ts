import { Body, Controller, Param, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  OTA_CAMPAIGN_APPROVE,
  OTA_CAMPAIGN_CANCEL,
  OTA_CAMPAIGN_CREATE,
  OTA_CAMPAIGN_DENY,
  OTA_CAMPAIGN_DEVICES,
  OTA_CAMPAIGN_GET,
  OTA_CAMPAIGN_NEXT_PHASE,
  OTA_CAMPAIGN_PAUSE,
  OTA_CAMPAIGN_RESUME,
  OTA_CAMPAIGN_RETRY_FAILED,
  OTA_CAMPAIGN_SIMULATE,
  OTA_CAMPAIGN_START,
  OTA_CAMPAIGN_SUBMIT,
  type OtaCampaignCancel,
  type OtaCampaignDefinition,
  type OtaCampaignResume,
  type OtaExecutionState,
  campaignCancel,
  campaignCreate,
  campaignResume,
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
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { CreateCampaignUseCase } from './create-campaign.use-case';
import { ControlCampaignUseCase } from './control-campaign.use-case';
import { DecideCampaignUseCase } from './decide-campaign.use-case';
import { GetCampaignUseCase } from './get-campaign.use-case';
import { NextPhaseUseCase } from './next-phase.use-case';
import { RetryFailedUseCase } from './retry-failed.use-case';
import { SimulateCampaignUseCase } from './simulate-campaign.use-case';
import { StartCampaignUseCase } from './start-campaign.use-case';
import { SHADOW_PHASE } from './domain/shadow';
import { apiSchemas } from '../openapi/schemas';

const campaignIdPipe = new ZodPipe(OTA_CAMPAIGN_GET.params.campaignId, 'campaign id');
const devicesQueryPipe = new ZodPipe(OTA_CAMPAIGN_DEVICES.query!, 'query');

/** Operators create and decide campaigns (approver ≠ creator, auditors never decide); every role reads. */
@ApiTags('Firmware campaigns')
@AuthenticatedByEnrollment()
@Controller()
export class CampaignsController {
  constructor(
    private readonly create: CreateCampaignUseCase,
    private readonly decide: DecideCampaignUseCase,
    private readonly start: StartCampaignUseCase,
    private readonly simulate: SimulateCampaignUseCase,
    private readonly control: ControlCampaignUseCase,
    private readonly nextPhase: NextPhaseUseCase,
    private readonly retryFailed: RetryFailedUseCase,
    private readonly getCampaign: GetCampaignUseCase,
    private readonly campaigns: CampaignsRepository,
  ) {}

  @ContractRoute(OTA_CAMPAIGN_CREATE, apiSchemas)
  @Roles(...WRITERS)
  createCampaign(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(campaignCreate)) body: OtaCampaignDefinition,
  ) {
    return this.create.execute(caller, body);
  }

  @ContractRoute(OTA_CAMPAIGN_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  get(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.getCampaign.execute(caller, campaignId);
  }

  @ContractRoute(OTA_CAMPAIGN_SUBMIT, apiSchemas)
  @Roles(...WRITERS)
  submit(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'submit');
  }

  @ContractRoute(OTA_CAMPAIGN_APPROVE, apiSchemas)
  @Roles(...WRITERS)
  approve(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'approve');
  }

  @ContractRoute(OTA_CAMPAIGN_DENY, apiSchemas)
  @Roles(...WRITERS)
  deny(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.decide.execute(caller, campaignId, 'deny');
  }

  @ContractRoute(OTA_CAMPAIGN_SIMULATE, apiSchemas)
  @Roles(...ANY_ROLE)
  simulateCampaign(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.simulate.execute(caller, campaignId);
  }

  @ContractRoute(OTA_CAMPAIGN_START, apiSchemas)
  @Roles(...WRITERS)
  async startCampaign(
    @CurrentCaller() caller: Caller,
    @Param('campaignId', campaignIdPipe) campaignId: string,
    @Res({ passthrough: true }) response: Response,
  ) {
    const view = await this.start.execute(caller, campaignId);
    // Still planning when the request stopped waiting: accepted, the plan goes on.
    if (view.planning) response.status(202);
    return view;
  }

  @ContractRoute(OTA_CAMPAIGN_PAUSE, apiSchemas)
  @Roles(...WRITERS)
  pause(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.control.execute(caller, campaignId, { action: 'pause' });
  }

  @ContractRoute(OTA_CAMPAIGN_RESUME, apiSchemas)
  @Roles(...WRITERS)
  resume(
    @CurrentCaller() caller: Caller,
    @Param('campaignId', campaignIdPipe) campaignId: string,
    @Body(new ZodPipe(campaignResume)) body: OtaCampaignResume,
  ) {
    return this.control.execute(caller, campaignId, { action: 'resume', ...body });
  }

  @ContractRoute(OTA_CAMPAIGN_CANCEL, apiSchemas)
  @Roles(...WRITERS)
  cancel(
    @CurrentCaller() caller: Caller,
    @Param('campaignId', campaignIdPipe) campaignId: string,
    @Body(new ZodPipe(campaignCancel)) body: OtaCampaignCancel,
  ) {
    return this.control.execute(caller, campaignId, { action: 'cancel', ...body });
  }

  @ContractRoute(OTA_CAMPAIGN_NEXT_PHASE, apiSchemas)
  @Roles(...WRITERS)
  next(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.nextPhase.execute(caller, campaignId);
  }

  @ContractRoute(OTA_CAMPAIGN_RETRY_FAILED, apiSchemas)
  @Roles(...WRITERS)
  retry(@CurrentCaller() caller: Caller, @Param('campaignId', campaignIdPipe) campaignId: string) {
    return this.retryFailed.execute(caller, campaignId);
  }

  @ContractRoute(OTA_CAMPAIGN_DEVICES, apiSchemas)
  @Roles(...ANY_ROLE)
  async devices(
    @CurrentCaller() caller: Caller,
    @Param('campaignId', campaignIdPipe) campaignId: string,
    @Query(devicesQueryPipe) query: Record<string, unknown>,
  ) {
    if (!(await this.campaigns.find(caller.tenantId, campaignId))) throw CampaignErrors.campaignNotFound();
    const { state, phase, shadowRun, cursor, limit } = query as {
      state?: OtaExecutionState;
      phase?: number;
      shadowRun?: 'true' | 'false';
      cursor?: string;
      limit: number;
    };
    const twins = shadowRun === 'true';
    const rows = await this.campaigns.devices(campaignId, {
      limit,
      shadowRun: twins,
      ...(state !== undefined && { state }),
      ...(phase !== undefined && { phase }),
      ...(cursor !== undefined && { cursor }),
    });
    return {
      items: rows.map((r) => ({
        deviceId: r.device_id,
        // A twin is in phase 0 inside; the contract's phases start at 1, the one its run gates.
        phase: twins ? SHADOW_PHASE + 1 : r.phase,
        executionId: r.execution_id,
        state: r.state,
        attempt: r.attempt,
        failureCode: r.failure_code,
        admittedAt: r.admitted_at?.toISOString() ?? null,
        updatedAt: r.updated_at.toISOString(),
        ...(twins && { shadowRun: true as const }),
      })),
      ...(rows.length === limit && { next: rows[rows.length - 1]!.device_id }),
    };
  }
}
