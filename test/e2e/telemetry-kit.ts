import { type KafkaClient as Kafka, KafkaLogLevel, createKafkaClient } from '@meterkeep/kafka';
import { DATA_KEY_GET } from '@meterkeep/contracts';
import { type Platform, internalCall, stackEndpoints, waitUntil } from '@meterkeep/testing';

export function kafkaClient(): Kafka {
  return createKafkaClient({
    ...stackEndpoints().kafka,
    clientId: 'e2e-reader',
    logLevel: KafkaLogLevel.NOTHING,
  });
}

export interface TopicRecord {
  key: string;
  value: string;
  raw: Buffer;
}

/** When this test process started: records older than it belong to other runs. */
const PROCESS_START = Date.now() - Math.round(process.uptime() * 1000);

/**
 * Every record of a topic whose key starts with `keyPrefix`, read committed, from `sinceMs` (by
 * default this test process's start: the topic of a long-lived local stack holds older runs' records).
 */
export async function recordsOf(
  kafka: Kafka,
  topic: string,
  keyPrefix: string,
  options: { settleMs?: number; sinceMs?: number } = {},
): Promise<TopicRecord[]> {
  const settleMs = options.settleMs ?? 2_500;
  const admin = kafka.admin();
  await admin.connect();
  const starts = await admin.fetchTopicOffsetsByTimestamp(topic, options.sinceMs ?? PROCESS_START);
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId: `e2e-reader-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  const records: TopicRecord[] = [];
  let last = Date.now();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        last = Date.now();
        const key = message.key?.toString() ?? '';
        if (key.startsWith(keyPrefix) && message.value)
          records.push({ key, value: message.value.toString(), raw: message.value });
        return Promise.resolve();
      },
    });
    for (const { partition, offset } of starts) consumer.seek({ topic, partition, offset });
    // Read until the topic has been quiet for a while.
    await waitUntil(() => Date.now() - last > settleMs, { timeoutMs: 60_000, intervalMs: 200 });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** The decrypting consumer of the e2e tests: the service name in its platform certificate. */
export const E2E_CONSUMER = 'e2e-consumer';

/** Privacy's PRIVACY_DATA_KEY_GRANTS giving the e2e consumer the data keys of these tenants. */
export const dataKeyGrants = (...tenantIds: string[]) => ({
  PRIVACY_DATA_KEY_GRANTS: JSON.stringify({ [E2E_CONSUMER]: tenantIds }),
});

/**
 * Fetches a data key as an authorised consumer does: privacy's internal listener, over mutual TLS
 * with the consumer's platform certificate (granted the tenant in PRIVACY_DATA_KEY_GRANTS).
 */
export async function dataKey(
  platform: Platform,
  tenantId: string,
  keyId: string,
): Promise<{ status: number; key?: Buffer; code?: string }> {
  const answer = await internalCall<{ key?: string; code?: string }>(
    platform.env.PRIVACY_INTERNAL_URL!,
    DATA_KEY_GET.pathFor({ tenantId, keyId }),
    { as: E2E_CONSUMER },
  );
  if (answer.status !== 200) return { status: answer.status, code: answer.body.code };
  const body = DATA_KEY_GET.responses[200].parse(answer.body);
  return { status: 200, key: Buffer.from(body.key, 'base64') };
}

/** Half-hourly active-import readings of one UTC day (`day` = YYYY-MM-DD), Wh. */
export function dayOfReadings(day: string, seed = 1, count = 48): Record<string, unknown>[] {
  const start = Date.parse(`${day}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => ({
    obis: '1-0:1.29.0*255',
    intervalStart: new Date(start + i * 1_800_000).toISOString().replace('.000Z', 'Z'),
    intervalMinutes: 30,
    value: 100 + ((i * 37 + seed * 11) % 400),
    scaler: 0,
    unit: 'Wh',
  }));
}

/** YYYY-MM-DD of `daysAgo` days before now (UTC). */
export function utcDay(daysAgo: number): string {
  return new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
}
