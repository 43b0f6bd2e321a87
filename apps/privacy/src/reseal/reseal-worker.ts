import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { ReleaseRepository } from '../release/release.repository';
import { ResealJobsRepository } from './reseal-jobs.repository';
import { ResealReadingsUseCase } from './reseal-readings.use-case';

/** A failed job waits 2^attempts seconds before its next try, at most this long. */
const MAX_RETRY_MS = 300_000;

/**
 * Runs due re-seal jobs, every PRIVACY_RESEAL_INTERVAL_MS after the previous pass ended. Each job runs
 * in a transaction holding its row (FOR UPDATE SKIP LOCKED): replicas never run the same job at once,
 * and one that crashes mid-way leaves it pending, to run again (re-publishing nothing twice).
 */
@Injectable()
export class ResealWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly jobs: ResealJobsRepository,
    private readonly reseal: ResealReadingsUseCase,
    private readonly release: ReleaseRepository,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_RESEAL_INTERVAL_MS'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.PRIVACY_RESEAL_INTERVAL_MS === 0) return;
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs every job due by `now`, one at a time; answers how many completed. */
  runDue(now = new Date()): Promise<number> {
    this.running ??= this.drain(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async drain(now: Date): Promise<number> {
    let completed = 0;
    while (!this.stopped) {
      let failed: { jobId: string; attempts: number; error: unknown } | undefined;
      const ran = await this.jobs.database.transaction().execute(async (trx) => {
        const job = await this.jobs.lockNextDue(trx, now);
        if (!job) return false;
        try {
          const outcome = await this.reseal.execute(job);
          // A reading the gate staged for the old occupant while the move-out was committing: it goes too.
          if (job.reason !== 'backdated-open')
            await this.release.deleteStagedFrom(trx, job.occupancy_id, job.reseal_from);
          await this.jobs.complete(trx, job.job_id, outcome, new Date());
          completed += 1;
        } catch (error) {
          failed = { jobId: job.job_id, attempts: job.attempts + 1, error };
        }
        return true;
      });
      if (failed) {
        const retryAt = new Date(Date.now() + Math.min(2 ** failed.attempts * 1_000, MAX_RETRY_MS));
        this.logger.warn({ jobId: failed.jobId, err: failed.error, retryAt }, 're-seal job failed; retried');
        await this.jobs.failed(failed.jobId, failed.attempts, (failed.error as Error).message, retryAt);
      }
      if (!ran) break;
    }
    return completed;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runDue()
        .catch((error: unknown) => this.logger.error({ err: error }, 're-seal pass failed'))
        .finally(() => this.schedule());
    }, this.config.PRIVACY_RESEAL_INTERVAL_MS);
    this.timer.unref();
  }
}
