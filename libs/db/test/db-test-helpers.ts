// Test-only use of the shared harness; the type:data-access constraint is meant for src/.
import { stackEndpoints, uniqueName, waitUntil } from '@meterkeep/testing';
import { type Kysely, sql } from 'kysely';
import { createDatabase } from '../src';

export { waitUntil };

/** A schema name no other run uses; uniqueName's hyphens are not allowed in schema names. */
export function uniqueSchema(): string {
  return uniqueName('mk_test').replaceAll('-', '_');
}

/** Opens databases bound to throwaway schemas, and drops those schemas and pools afterwards. */
export class TestSchemas {
  readonly url = stackEndpoints().databaseUrl;
  private readonly schemas = new Set<string>();
  private readonly dbs: Kysely<unknown>[] = [];
  // Bound to a schema that never exists, so it can only see what it names explicitly.
  readonly admin = this.track(
    createDatabase<unknown>({ url: this.url, schema: 'mk_test_admin', pool: { max: 2 } }),
  );

  /** Drops `schema` at clean-up, for schemas something else creates. */
  claim(schema: string): string {
    this.schemas.add(schema);
    return schema;
  }

  open<DB = unknown>(schema: string): Kysely<DB> {
    this.schemas.add(schema);
    return this.track(createDatabase<DB>({ url: this.url, schema, pool: { max: 3 } }));
  }

  async tablesIn(schema: string): Promise<string[]> {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(
      this.admin,
    );
    return rows.map((row) => row.table_name);
  }

  async cleanUp(): Promise<void> {
    try {
      for (const schema of this.schemas)
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(this.admin);
    } finally {
      await Promise.all(this.dbs.map((db) => db.destroy()));
    }
  }

  private track<DB>(db: Kysely<DB>): Kysely<DB> {
    this.dbs.push(db as Kysely<unknown>);
    return db;
  }
}
