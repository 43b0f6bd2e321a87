import { type HealthProbe, withTimeout } from '@meterkeep/observability';
import { type Kysely, sql } from 'kysely';

/** Ready while PostgreSQL answers `SELECT 1` on a pooled connection within `timeoutMs`. */
export class PostgresHealthProbe implements HealthProbe {
  readonly name = 'postgres';

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly timeoutMs = 2_000,
  ) {}

  async check(): Promise<void> {
    await withTimeout(sql`select 1`.execute(this.db), this.timeoutMs, 'postgres');
  }
}
