import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor } from '../core/database';
import { OutboxNudge } from './outbox-relay';

/**
 * The unit of work of a use case: one database transaction, in which state changes and their outbox
 * events are written together; after the commit, the relay is nudged to publish them.
 */
@Injectable()
export class Transactions {
  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly relay: OutboxNudge,
  ) {}

  async run<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    this.relay.nudge();
    return result;
  }
}
