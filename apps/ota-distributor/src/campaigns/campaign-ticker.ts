import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignDefinition } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CampaignAdmission } from './campaign-admission';
import { CampaignCancellation } from './campaign-cancellation';
import { CampaignPlanner } from './campaign-planner';
import { CampaignRetries } from './campaign-retries';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignTimeouts } from './campaign-timeouts';
import { CampaignsRepository } from './campaigns.repository';
import { CAMPAIGN_MACHINE } from './domain/state-machines';
import { PhaseAdvance } from './phase-advance';

/**
 * The campaigns' clock, every OTA_CAMPAIGN_TICK_MS on each replica: executions past their stage's
 * timeout become TIMED_OUT (also while paused or halted); failed ones the retry policy retries are
 * re-queued once their backoff ran (while running or paused); a PLANNING campaign no start request is
 * planning any more (it answered 202, or its replica died) is planned; a SCHEDULED campaign whose startAt
 * has come starts (or halts, MANIFEST_REVOKED, when its manifest was revoked meanwhile); a RUNNING one advances (threshold and soak) and admits at its rate; a CANCELLING one
 * cancels its queued executions and ends once none is unfinished. Each campaign is taken under its row
 * lock with SKIP LOCKED: with two replicas, one works a campaign and the other passes it by, so
 * admission never runs twice in one window. A failed step is logged and tried at the next tick.
 */
@Injectable()
export class CampaignTicker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly admission: CampaignAdmission,
    private readonly advance: PhaseAdvance,
    private readonly cancellation: CampaignCancellation,
    private readonly timeouts: CampaignTimeouts,
    private readonly retries: CampaignRetries,
    private readonly planner: CampaignPlanner,
    private readonly statusFeed: CampaignStatusFeed,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: Pick<OtaDistributorConfig, 'OTA_CAMPAIGN_TICK_MS'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.OTA_CAMPAIGN_TICK_MS;
    if (every === 0) return;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One tick at a time in this process. */
  tick(): Promise<void> {
    this.running ??= this.runTick().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    let ids: string[];
    try {
      ids = await this.campaigns.tickable();
    } catch (error) {
      this.logger.error({ err: error }, 'ota-distributor: campaign tick could not list campaigns');
      return;
    }
    for (const id of ids) {
      if (this.stopped) return;
      try {
        await this.step(id);
      } catch (error) {
        this.logger.error({ err: error, campaignId: id }, 'ota-distributor: campaign tick failed');
      }
    }
  }

  async step(campaignId: string): Promise<void> {
    const now = new Date();
    await this.timeouts.expire(campaignId, now);
    await this.retries.requeueDue(campaignId, now);
    let cancelling = false;
    let planning: string | undefined;
    await this.transactions.run(async (trx) => {
      const campaign = await this.campaigns.lockOrSkip(trx, campaignId);
      if (!campaign) return;
      if (campaign.state === 'PLANNING') {
        planning = campaign.tenant_id;
      } else if (campaign.state === 'SCHEDULED') {
        const startAt = (campaign.body as OtaCampaignDefinition).startAt;
        if (startAt !== undefined && new Date(startAt).getTime() > now.getTime()) return;
        const transition = CAMPAIGN_MACHINE.next(campaign.state, 'start');
        if (!transition.ok) return;
        if (await this.campaigns.manifestRevoked(trx, campaign.tenant_id, campaign.manifest_id)) {
          await this.statusFeed.haltRevoked(trx, campaign, now);
          return;
        }
        const row = await this.campaigns.setFields(trx, campaignId, { state: transition.to }, now);
        await this.outbox.enqueue(
          trx,
          OTA_CAMPAIGNS_V2,
          await this.planner.openFirstPhase(trx, row, now, undefined),
        );
        await this.admission.admit(trx, row, now);
      } else if (campaign.state === 'RUNNING') {
        const { row } = await this.advance.advance(trx, campaign, { explicit: false }, now);
        await this.admission.admit(trx, row, now);
      } else if (campaign.state === 'CANCELLING') {
        cancelling = true;
      }
    });
    if (cancelling) await this.cancellation.proceed(campaignId);
    if (planning !== undefined) void this.planner.plan(planning, campaignId, { wait: false });
  }
}
