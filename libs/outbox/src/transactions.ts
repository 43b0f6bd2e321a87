import type { Kysely } from 'kysely';

/** Wakes the relay after a commit, so events leave at once rather than at the next poll. */
export interface OutboxNudge {
  nudge(): void;
}

/** Waited for after each commit: e.g. a replica's cache dropping what the commit made stale. */
export interface AfterCommit {
  afterCommit(): Promise<void>;
}

/**
 * The unit of work of a use case: one database transaction, in which state changes and their outbox
 * events are written together; after the commit, the relay is nudged to publish them. An event exists
 * if and only if the change it describes committed. With `committed`, run() returns only once that
 * hook is done, so the caller's next read sees its own write.
 */
export class Transactions<DB> {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly relay: OutboxNudge,
    private readonly committed?: AfterCommit,
  ) {}

  async run<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    this.relay.nudge();
    await this.committed?.afterCommit();
    return result;
  }
}
