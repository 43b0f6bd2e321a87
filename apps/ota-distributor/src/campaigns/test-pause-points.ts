import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig, TestPausePoint } from '../config';

/**
 * Test-only (OTA_TEST_PAUSE_AT; the config refuses it under NODE_ENV=production): a named point
 * logs that it is reached and never returns, so the test's SIGKILL lands exactly there rather than
 * after a sleep and a hope. Unset, `at` returns at once.
 */
@Injectable()
export class TestPausePoints {
  private readonly points: ReadonlySet<string>;

  constructor(
    @Inject(CONFIG) config: Pick<OtaDistributorConfig, 'OTA_TEST_PAUSE_AT'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.points = new Set(config.OTA_TEST_PAUSE_AT ?? []);
  }

  async at(point: TestPausePoint): Promise<void> {
    if (!this.points.has(point)) return;
    this.logger.warn({ testPausePoint: point }, 'ota-distributor: test pause point reached');
    await new Promise<never>(() => undefined);
  }
}
