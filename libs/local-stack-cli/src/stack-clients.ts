import { closeRedis, createRedis, RedisHealthProbe } from '@meterkeep/cache';
import { createDatabase, PostgresHealthProbe } from '@meterkeep/db';
import { ALL_TOPICS, type PlatformService } from '@meterkeep/contracts';
import { KafkaHealthProbe, applyServiceAcls, createKafkaClient, ensureTopics } from '@meterkeep/kafka';
import type { KafkaAdminConnection, StackClients } from '@meterkeep/local-stack';
import { createLogger } from '@meterkeep/observability';
import { createS3Client, ObjectStore, ObjectStoreHealthProbe } from '@meterkeep/storage';
import { sql } from 'kysely';

// A refused connection is the answer "down" here, not something to log.
const quiet = createLogger({
  service: 'local-stack',
  level: 'silent',
  destination: { write: () => undefined },
});

/** TLS with the stack CA and SCRAM as the stack's admin. */
function kafkaAdminSecurity({ caPem, username, password }: KafkaAdminConnection) {
  return {
    ssl: { ca: caPem },
    sasl: { mechanism: 'scram-sha-512' as const, username, password },
  };
}

/** A short-lived pool of one connection to `url`, ended after `use`. */
async function withDatabase<T>(
  url: string,
  use: (db: ReturnType<typeof createDatabase>) => Promise<T>,
): Promise<T> {
  // Nothing here touches a table: the search path only has to be a valid schema name.
  const db = createDatabase({ url, schema: 'local_stack', pool: { max: 1, connectionTimeoutMs: 3_000 } });
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}

/** Another checkout created the same role or database a moment earlier (42710, 42P04): as wanted. */
async function unlessDuplicate(statement: Promise<unknown>): Promise<void> {
  try {
    await statement;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '42710' && code !== '42P04') throw error;
  }
}

/** The stack's readiness requests, made with the same libraries and probes the services use. */
export const stackClients: StackClients = {
  postgresSelect1: (url) => withDatabase(url, (db) => new PostgresHealthProbe(db, 3_000).check()),

  postgresProvision: (adminUrl, role, database) =>
    withDatabase(adminUrl, async (db) => {
      const roles = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${role}`.execute(db);
      if (roles.rows.length === 0) await unlessDuplicate(sql`CREATE ROLE ${sql.id(role)} LOGIN`.execute(db));
      const databases = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`.execute(db);
      if (databases.rows.length === 0)
        await unlessDuplicate(sql`CREATE DATABASE ${sql.id(database)} OWNER ${sql.id(role)}`.execute(db));
    }),

  redisPing: async (url) => {
    const redis = createRedis(url, { logger: quiet, connectTimeoutMs: 2_000, commandTimeoutMs: 3_000 });
    try {
      await new RedisHealthProbe(redis, 3_000).check();
    } finally {
      await closeRedis(redis);
    }
  },

  redisSetUsers: async (url, users) => {
    const redis = createRedis(url, { logger: quiet, connectTimeoutMs: 2_000, commandTimeoutMs: 3_000 });
    try {
      for (const { username, password, rules } of users)
        await redis.call('ACL', 'SETUSER', username, ...rules, `>${password}`);
    } finally {
      await closeRedis(redis);
    }
  },

  kafkaDescribeCluster: async (brokers, admin) => {
    const probe = new KafkaHealthProbe({
      clientId: 'mk-probe',
      brokers,
      ...kafkaAdminSecurity(admin),
      timeoutMs: 5_000,
    });
    try {
      await probe.check();
    } finally {
      await probe.close().catch(() => undefined);
    }
  },

  kafkaProvision: async (brokers, admin, principals) => {
    const kafka = createKafkaClient({
      clientId: 'mk-provision',
      brokers,
      ...kafkaAdminSecurity(admin),
      logger: quiet,
    });
    await ensureTopics(kafka, ALL_TOPICS, { deadLetter: true, timeoutMs: 30_000 });
    await applyServiceAcls(kafka, (service: PlatformService) => principals[service] ?? service);
  },

  s3ListBuckets: async ({ endpoint, region, accessKeyId, secretAccessKey }) => {
    const client = createS3Client({
      endpoint,
      region,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
      connectionTimeoutMs: 2_000,
      socketTimeoutMs: 5_000,
    });
    try {
      // No bucket named: ListBuckets, which needs only valid credentials.
      await new ObjectStoreHealthProbe(new ObjectStore(client), { timeoutMs: 5_000 }).check();
    } finally {
      client.destroy();
    }
  },
};
