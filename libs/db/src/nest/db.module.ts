import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { createDatabase, type DatabaseOptions } from '../database.factory';
import { type MigrationSet, runMigrations } from '../migration.runner';
import { PostgresHealthProbe } from '../postgres-health.probe';
import { DATABASE } from './db.tokens';

export interface DbModuleOptions extends DatabaseOptions {
  migrations: MigrationSet;
  /**
   * Apply pending migrations before the app takes traffic. Safe with several replicas (they
   * serialise on a lock); turn off when a separate `migrate` job runs them before the rollout.
   */
  runMigrationsOnStart: boolean;
}

/** The service's database: provides DATABASE (Kysely) and PostgresHealthProbe everywhere, ends the pool on shutdown. */
@Module({})
export class DbModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Kysely<unknown>) {}

  static forRoot(options: DbModuleOptions): DynamicModule {
    return {
      module: DbModule,
      global: true,
      providers: [
        {
          provide: DATABASE,
          useFactory: async () => {
            const db = createDatabase(options);
            if (!options.runMigrationsOnStart) return db;
            try {
              await runMigrations(db, options);
              return db;
            } catch (error) {
              // Nest will not call shutdown hooks for a module that never finished starting.
              await db.destroy();
              throw error;
            }
          },
        },
        {
          provide: PostgresHealthProbe,
          useFactory: (db: Kysely<unknown>) => new PostgresHealthProbe(db),
          inject: [DATABASE],
        },
      ],
      exports: [DATABASE, PostgresHealthProbe],
    };
  }

  // After the HTTP server and consumers stopped, so in-flight work could still use the pool.
  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
