import { randomBytes } from 'node:crypto';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { DEFAULT_PORTS } from '@meterkeep/config';
import type { RunningStack } from './stack-endpoints';

// Same servers as deploy/compose: one KRaft Kafka, PostgreSQL, Redis and MinIO.
export async function startContainerStack(): Promise<RunningStack> {
  const s3Key = randomBytes(12).toString('hex');
  const s3Secret = randomBytes(24).toString('hex');
  const kafkaPort = DEFAULT_PORTS.stack.kafka;
  const started: StartedTestContainer[] = [];
  try {
    const kafka = await new GenericContainer('apache/kafka:4.4.0')
      .withExposedPorts({ container: kafkaPort, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${kafkaPort},CONTROLLER://0.0.0.0:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    started.push(kafka);
    const postgres = await new GenericContainer('postgres:15')
      .withExposedPorts(5432)
      .withEnvironment({
        POSTGRES_USER: 'meterkeep',
        POSTGRES_DB: 'meterkeep',
        POSTGRES_HOST_AUTH_METHOD: 'trust',
      })
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    started.push(postgres);
    const redis = await new GenericContainer('redis:7').withExposedPorts(6379).start();
    started.push(redis);
    const minio = await new GenericContainer('quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z')
      .withCommand(['server', '/data'])
      .withEnvironment({ MINIO_ROOT_USER: s3Key, MINIO_ROOT_PASSWORD: s3Secret })
      .withExposedPorts(9000)
      .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000))
      .start();
    started.push(minio);
    return {
      source: 'testcontainers',
      env: {
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        DATABASE_URL: `postgres://meterkeep@${postgres.getHost()}:${postgres.getMappedPort(5432)}/meterkeep`,
        REDIS_URL: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
        S3_ENDPOINT: `http://${minio.getHost()}:${minio.getMappedPort(9000)}`,
        S3_REGION: 'us-east-1',
        S3_ACCESS_KEY_ID: s3Key,
        S3_SECRET_ACCESS_KEY: s3Secret,
        S3_FORCE_PATH_STYLE: 'true',
      },
      stop: async () => {
        await Promise.all(started.map((c) => c.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw error;
  }
}
