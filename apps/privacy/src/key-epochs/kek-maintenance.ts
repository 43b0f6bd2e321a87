import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import { KekEpochsRepository } from './kek-epochs.repository';
import { KekRing } from './kek-ring';
import { RotateKekUseCase } from './rotate-kek.use-case';

/** The clock of the KEK schedule (tests let time pass). */
export const KEK_CLOCK = Symbol('privacy:kek-clock');
export type KekClock = () => Date;

/**
 * Every PRIVACY_KEK_CHECK_INTERVAL_S (and once at start, in the background), on each replica: drop the
 * KEKs of epochs another replica destroyed, then rotate when due and destroy expired epochs (one
 * replica at a time: the others find the lock taken). A failed check is logged and tried next time.
 */
@Injectable()
export class KekMaintenance implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly rotate: RotateKekUseCase,
    private readonly epochs: KekEpochsRepository,
    private readonly ring: KekRing,
    @Inject(KEK_CLOCK) private readonly clock: KekClock,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_KEK_CHECK_INTERVAL_S'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const intervalS = this.config.PRIVACY_KEK_CHECK_INTERVAL_S;
    if (intervalS === 0) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), intervalS * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One check at a time in this process. */
  check(): Promise<void> {
    this.running ??= this.runCheck().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const epoch of await this.epochs.all())
        if (epoch.destroyed_at !== null) this.ring.forget(epoch.epoch);
      const report = await this.rotate.execute({ now: this.clock() });
      if (report.openedEpoch !== undefined || report.rewrapped > 0 || report.destroyedEpochs.length > 0) {
        this.logger.info({ kek: report }, 'privacy: KEK epochs maintained');
      }
    } catch (error) {
      this.logger.error({ err: error }, 'privacy: KEK epoch check failed; tried again at the next check');
    }
  }
}
