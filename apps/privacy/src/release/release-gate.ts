import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { NetworkReleaseUseCase } from './network-release.use-case';
import { ReleaseWindowsUseCase } from './release-windows.use-case';

/**
 * Every PRIVACY_RELEASE_INTERVAL_MS after the previous pass ended: release the windows that closed, per
 * occupancy, then network operators' cell totals.
 * Replicas may run it side by side: each occupancy is released under its lock, and a window released
 * twice is refused by its primary key (the second transaction rolls back before producing).
 */
@Injectable()
export class ReleaseGate implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Ends a pass under way at its next occupancy when the service stops (a pass may take minutes). */
  private readonly stopping = new AbortController();

  constructor(
    private readonly release: ReleaseWindowsUseCase,
    private readonly network: NetworkReleaseUseCase,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_RELEASE_INTERVAL_MS'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.PRIVACY_RELEASE_INTERVAL_MS === 0) return;
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.running;
  }

  /** One pass at a time in this process. */
  pass(): Promise<void> {
    this.running ??= this.release
      .execute(new Date(), this.stopping.signal)
      .then(async ({ planned, released }) => {
        if (released > 0)
          this.logger.info({ count: released, planned: planned.length }, 'release gate released values');
        // Network operators' cell totals: from the same staged readings, after the occupancies' pass.
        const cells = await this.network.execute(new Date(), this.stopping.signal);
        if (cells > 0) this.logger.info({ count: cells }, 'release gate released cell totals');
      })
      .then(
        () => undefined,
        (error: unknown) => this.logger.error({ err: error }, 'release pass failed'),
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pass().finally(() => this.schedule());
    }, this.config.PRIVACY_RELEASE_INTERVAL_MS);
    this.timer.unref();
  }
}
