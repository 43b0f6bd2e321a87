import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { countErasure } from '../core/erasure-metrics';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { keyDestroyedEvent } from '../data-keys/key-destroyed.event';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';

export const RETENTION_ACTOR = 'privacy:retention-expiry';

/**
 * Retention keys (kept past an erasure under Art. 17(3)(b) and the like) are destroyed at their
 * retain_until, without anyone asking: each in its own transaction, announced and audited as any
 * destruction. Runs every PRIVACY_RETENTION_CHECK_INTERVAL_S; `destroyDue` also runs on demand.
 */
@Injectable()
export class RetentionExpiry implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly keys: DataKeysRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.PRIVACY_RETENTION_CHECK_INTERVAL_S;
    if (seconds === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.destroyDue()
        .catch((error: unknown) => this.logger.error({ err: error }, 'retention expiry failed'))
        .finally(() => (this.running = undefined));
    }, seconds * 1_000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Destroys every retention key whose date has come by `now`; returns their ids. */
  async destroyDue(now = new Date()): Promise<string[]> {
    const destroyed: string[] = [];
    for (;;) {
      const due = await this.keys.retentionKeysDue(now, 100);
      if (due.length === 0) return destroyed;
      for (const candidate of due) {
        await this.transactions.run(async (trx) => {
          const key = await this.keys.lock(trx, candidate.tenant_id, candidate.key_id);
          if (!key || key.destroyed_at !== null) return;
          const gone = await this.keys.destroy(trx, key.key_id, now);
          await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [keyDestroyedEvent(gone, now)]);
          await this.audit.append(trx, key.tenant_id, [
            {
              action: 'privacy.data-key-destroyed',
              actor: RETENTION_ACTOR,
              subject: key.key_id,
              outcome: 'allowed',
              detail: {
                meterId: key.meter_id,
                ...(key.occupancy_id !== null && { occupancyId: key.occupancy_id }),
                purpose: key.purpose ?? '',
                retainUntil: key.retain_until?.toISOString() ?? '',
              },
            },
          ]);
        });
        destroyed.push(candidate.key_id);
        countErasure('retention-expiry');
      }
    }
  }
}
