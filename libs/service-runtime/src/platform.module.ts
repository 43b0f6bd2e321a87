import { type DynamicModule, type InjectionToken, Module } from '@nestjs/common';
import { RedisHealthProbe } from '@meterkeep/cache';
import { CacheModule } from '@meterkeep/cache/nest';
import type { TopicContract } from '@meterkeep/contracts';
import { type MigrationSet, PostgresHealthProbe } from '@meterkeep/db';
import { DbModule } from '@meterkeep/db/nest';
import { KafkaHealthProbe } from '@meterkeep/kafka';
import { KafkaModule } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { ObjectStoreHealthProbe } from '@meterkeep/storage';
import { StorageModule } from '@meterkeep/storage/nest';
import {
  type KafkaSecurityConfig,
  type RedisSecurityConfig,
  kafkaSecurity,
  redisSecurity,
} from '@meterkeep/config';
import { HealthModule } from './health/health.module';

/** The validated settings of the stores a service uses (see @meterkeep/config's env schemas). */
export interface PlatformConfig extends KafkaSecurityConfig, Partial<RedisSecurityConfig> {
  KAFKA_BROKERS?: string[];
  KAFKA_CLIENT_ID?: string;
  KAFKA_REPLICATION_FACTOR?: number;
  KAFKA_ENSURE_TOPICS?: boolean;
  DATABASE_URL?: string;
  DATABASE_POOL_MAX?: number;
  REDIS_URL?: string;
  S3_ENDPOINT?: string;
  S3_REGION?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  S3_FORCE_PATH_STYLE?: boolean;
}

export interface PlatformOptions {
  /** The service's name: its Kafka client id, its PostgreSQL schema. */
  service: string;
  config: PlatformConfig;
  logger: Logger;
  /** The topics the service publishes to or consumes. */
  topics?: readonly TopicContract[];
  /** The service's own migrations; a service with DATABASE_URL set owns a schema named after it. */
  migrations?: MigrationSet;
  /** The PostgreSQL schema, when not the service's name (integration tests isolate runs this way). */
  schema?: string;
}

/**
 * The stores a service uses, decided by which of them its config names, and readiness over exactly
 * those: a service is ready only while each of its stores answers.
 */
@Module({})
export class PlatformModule {
  static forRoot({
    service,
    config,
    logger,
    topics = [],
    migrations = {},
    schema,
  }: PlatformOptions): DynamicModule {
    const imports: DynamicModule[] = [];
    const probes: InjectionToken[] = [];
    if (config.KAFKA_BROKERS) {
      imports.push(
        KafkaModule.forRoot({
          clientId: config.KAFKA_CLIENT_ID ?? service,
          brokers: config.KAFKA_BROKERS,
          // TLS, SASL: secrets read from their files here, at start-up.
          ...kafkaSecurity(config),
          logger: logger.child({ component: 'kafka' }),
          contracts: topics,
          ensureTopics: config.KAFKA_ENSURE_TOPICS !== false && {
            replicationFactor: config.KAFKA_REPLICATION_FACTOR ?? 1,
          },
        }),
      );
      probes.push(KafkaHealthProbe);
    }
    if (config.DATABASE_URL) {
      imports.push(
        DbModule.forRoot({
          url: config.DATABASE_URL,
          schema: schema ?? service.replaceAll('-', '_'),
          pool: { max: config.DATABASE_POOL_MAX },
          logger: logger.child({ component: 'db' }),
          migrations,
          runMigrationsOnStart: true,
        }),
      );
      probes.push(PostgresHealthProbe);
    }
    if (config.REDIS_URL) {
      imports.push(
        CacheModule.forRoot({
          url: config.REDIS_URL,
          ...redisSecurity({ ...config, REDIS_URL: config.REDIS_URL }),
          logger: logger.child({ component: 'redis' }),
        }),
      );
      probes.push(RedisHealthProbe);
    }
    if (config.S3_ACCESS_KEY_ID || config.S3_ENDPOINT) {
      imports.push(
        StorageModule.forRoot({
          endpoint: config.S3_ENDPOINT,
          region: config.S3_REGION ?? 'us-east-1',
          accessKeyId: config.S3_ACCESS_KEY_ID,
          secretAccessKey: config.S3_SECRET_ACCESS_KEY,
          forcePathStyle: config.S3_FORCE_PATH_STYLE ?? false,
        }),
      );
      probes.push(ObjectStoreHealthProbe);
    }
    return { module: PlatformModule, imports: [...imports, HealthModule.forRoot(probes)] };
  }
}
