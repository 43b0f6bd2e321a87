import { type TopicContract, deadLetterTopicName } from '@meterkeep/contracts';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';

export interface EnsureTopicsOptions {
  /** Also create `<topic>.dlq` for each contract (same partition count, no compaction). */
  deadLetter?: boolean;
  /** 1 for a single local broker; 3 in a production cluster. */
  replicationFactor?: number;
  timeoutMs?: number;
}

/** What ensureTopics would create: each contract's topic as declared, then its dead-letter topic. */
export function topicConfigs(
  contracts: readonly TopicContract[],
  options: EnsureTopicsOptions = {},
): ITopicConfig[] {
  const replicationFactor = options.replicationFactor ?? 1;
  return contracts.flatMap((contract) => {
    const topic: ITopicConfig = {
      topic: contract.name,
      numPartitions: contract.partitions,
      replicationFactor,
      configEntries: Object.entries(contract.config).map(([name, value]) => ({ name, value })),
    };
    if (!options.deadLetter) return [topic];
    // A DLQ is a log of failures to read and replay, so it is never compacted away.
    const deadLetter: ITopicConfig = {
      topic: deadLetterTopicName(contract.name),
      numPartitions: contract.partitions,
      replicationFactor,
    };
    return [topic, deadLetter];
  });
}

/**
 * Creates the contracts' topics (and dead-letter topics) that do not exist yet; existing topics are
 * left as they are. Returns the names it created.
 */
export async function ensureTopics(
  kafka: Kafka,
  contracts: readonly TopicContract[],
  options: EnsureTopicsOptions = {},
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicConfigs(contracts, options).filter(({ topic }) => !existing.has(topic));
    if (missing.length === 0) return [];
    const timeoutMs = options.timeoutMs ?? 10_000;
    let created = true;
    try {
      // false means every one of them appeared meanwhile (another instance won the race).
      // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers
      // until the new topic's metadata has propagated; waitForLeaders below tolerates it.
      created = await admin.createTopics({ topics: missing, waitForLeaders: false, timeout: timeoutMs });
    } catch (error) {
      // Several replicas starting at once race to create the same topics: losing that race is fine.
      if (notAuthorized(error))
        throw new Error(
          `Topics ${missing.map(({ topic }) => topic).join(', ')} are missing and this principal may not create them: ` +
            'the admin creates topics and ACLs (deploy job, or deploy/local/stack.sh up)',
          { cause: error },
        );
      if (!onlyAlreadyExists(error)) throw error;
      created = false;
    }
    // New topics (ours or a racing replica's) may not have leaders yet; producing before would fail.
    await waitForLeaders(
      admin,
      missing.map(({ topic }) => topic),
      timeoutMs,
    );
    return created ? missing.map(({ topic }) => topic) : [];
  } finally {
    await admin.disconnect();
  }
}

/** Under ACLs a service's principal has no CREATE: the broker refuses with an authorization error. */
function notAuthorized(error: unknown): boolean {
  const errors = (error as { errors?: { type?: string }[]; type?: string } | undefined) ?? {};
  const types = [errors.type, ...(Array.isArray(errors.errors) ? errors.errors.map((e) => e.type) : [])];
  return types.some((type) => type !== undefined && type.endsWith('AUTHORIZATION_FAILED'));
}

function onlyAlreadyExists(error: unknown): boolean {
  const errors = (error as { errors?: { type?: string }[] } | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    if (Date.now() >= deadline)
      throw new Error(`Topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
