import { type HealthProbe, type Logger, withTimeout } from '@meterkeep/observability';
import { type Admin, type Kafka, logLevel } from 'kafkajs';
import { type KafkaClientOptions, createKafkaClient } from './kafka-client';

export interface KafkaHealthProbeOptions extends Pick<
  KafkaClientOptions,
  'clientId' | 'brokers' | 'ssl' | 'sasl'
> {
  logger?: Logger;
  /** check() rejects after this long at the latest. */
  timeoutMs?: number;
}

/**
 * Ready while the cluster answers a metadata request. Uses its own client with short timeouts and no
 * retries, so a dead broker is reported within the timeout rather than after kafkajs' back-off.
 */
export class KafkaHealthProbe implements HealthProbe {
  readonly name = 'kafka';
  private readonly kafka: Kafka;
  private readonly timeoutMs: number;
  private admin: Admin | undefined;

  constructor(private readonly options: KafkaHealthProbeOptions) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.kafka = createKafkaClient({
      ...options,
      clientId: `${options.clientId}-health`,
      connectionTimeout: Math.min(1_000, this.timeoutMs),
      requestTimeout: Math.min(1_500, this.timeoutMs),
      retry: { retries: 0 },
      // A failed check is reported by the probe; kafkajs' own connection errors would only repeat it.
      logLevel: logLevel.NOTHING,
    });
  }

  async check(): Promise<void> {
    const admin = (this.admin ??= this.kafka.admin({ retry: { retries: 0 } }));
    try {
      await withTimeout(this.describe(admin), this.timeoutMs, 'kafka');
    } catch (error) {
      // A kafkajs admin can stay wedged on a dead connection after a broker restart: start afresh.
      if (this.admin === admin) this.admin = undefined;
      admin.disconnect().catch((disconnectError: unknown) => {
        this.options.logger?.debug({ err: disconnectError }, 'kafka health admin disconnect failed');
      });
      throw error;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect();
  }

  private async describe(admin: Admin): Promise<void> {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('kafka: the cluster reports no brokers');
  }
}
