import { z } from 'zod';

/** Fields every event carries: idempotent consumers key on eventId; every event belongs to a tenant. */
export const eventEnvelope = z.object({
  eventId: z.uuid(),
  tenantId: z.string().min(1).max(64),
  occurredAt: z.iso.datetime({ offset: true }),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;

/** Topic names are `<domain>.<subject>.v<N>`; a breaking change is a new topic. */
export const TOPIC_NAME = /^[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$/;

/** The platform's services: the principals Kafka ACLs are granted to (one per service). */
export const PLATFORM_SERVICES = [
  'enrollment',
  'bootstrap',
  'telemetry-ingest',
  'ota-distributor',
  'privacy',
] as const;
export type PlatformService = (typeof PLATFORM_SERVICES)[number];

export interface TopicContract<T extends EventEnvelope = EventEnvelope> {
  readonly name: string;
  /**
   * The services that write this topic: the only principals the brokers let write it (trust state
   * must come from its owner). Every platform topic names at least one (a test holds ALL_TOPICS to it).
   */
  readonly producers: readonly PlatformService[];
  /** The services that read it: READ on the topic, WRITE on its dead-letter topic. */
  readonly consumers: readonly PlatformService[];
  /** Validates a value on produce and again on consume. */
  readonly schema: z.ZodType<T>;
  /** The record key: decides the partition, so the ordering unit. */
  key(event: T): string;
  readonly partitions: number;
  /** Topic-level broker config, such as cleanup.policy=compact. */
  readonly config: Readonly<Record<string, string>>;
  /** A valid payload, checked by a test, shown in docs. */
  readonly example: T;
}

export function defineTopic<T extends EventEnvelope>(
  contract: Omit<TopicContract<T>, 'config' | 'producers' | 'consumers'> &
    Partial<Pick<TopicContract<T>, 'producers' | 'consumers'>> & { config?: Record<string, string> },
): TopicContract<T> {
  if (!TOPIC_NAME.test(contract.name)) {
    throw new Error(`Topic name ${contract.name} does not follow <domain>.<subject>.v<N>`);
  }
  // Test topics may name no services; the platform's must (see topics.spec.ts).
  return {
    ...contract,
    producers: contract.producers ?? [],
    consumers: contract.consumers ?? [],
    config: contract.config ?? {},
  };
}

/** Where a topic's invalid messages go, never to be retried. */
export function deadLetterTopicName(topic: string): string {
  return `${topic}.dlq`;
}

/** Headers a dead-lettered record carries besides the original ones. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  failedAt: 'x-dlq-failed-at',
} as const;

export class ContractViolationError extends Error {
  constructor(
    readonly topic: string,
    readonly issues: string[],
  ) {
    super(`Event for ${topic} violates its contract: ${issues.join('; ')}`);
    this.name = 'ContractViolationError';
  }
}

/** Parses a value against its topic's schema; the error lists every issue with its path. */
export function validateEvent<T extends EventEnvelope>(contract: TopicContract<T>, value: unknown): T {
  const result = contract.schema.safeParse(value);
  if (!result.success) {
    throw new ContractViolationError(
      contract.name,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}
