import { randomUUID } from 'node:crypto';
import { type Kafka, Partitioners } from 'kafkajs';

/** How long without a record before a partition read is taken as complete (transaction markers). */
const QUIET_MS = 1_500;

/** The partition the platform's producers (DefaultPartitioner: murmur2, as Java's) put a key in. */
export function partitionOfKey(topic: string, key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

export interface KeyedRecord {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
}

export interface KeyedRecordsReport {
  topic: string;
  partition: number;
  /** The partition's earliest offset when read, and the offset of the last record it held then. */
  firstOffset: number;
  lastOffset: number;
  /** Records of the key found (the partition's other keys are skipped). */
  records: number;
  /** Whether the read reached the end it took (false: it went quiet or timed out before). */
  complete: boolean;
}

/**
 * Reads every record one key holds in a topic, as it stands when called: only the key's partition,
 * from its earliest offset to its end then (a throw-away group, nothing committed). For raw checks
 * (an erasure's inventory and its verifier): the value is handed over as bytes, undecoded.
 */
export async function readKeyedRecords(
  kafka: Kafka,
  topic: string,
  key: string,
  onRecord: (record: KeyedRecord) => void,
  options: {
    groupPrefix?: string;
    timeoutMs?: number;
    /** Start at the first record written at or after this time (broker timestamp), not the earliest. */
    sinceMs?: number;
  } = {},
): Promise<KeyedRecordsReport> {
  const admin = kafka.admin();
  await admin.connect();
  let low: number;
  let high: number;
  let partition: number;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    partition = partitionOfKey(topic, key, offsets.length);
    const own = offsets.find((o) => o.partition === partition)!;
    low = Number(own.low);
    high = Number(own.high);
    if (options.sinceMs !== undefined) {
      const since = await admin.fetchTopicOffsetsByTimestamp(topic, options.sinceMs);
      const at = Number(since.find((o) => o.partition === partition)?.offset ?? high);
      // -1 (or past the end): nothing written since then.
      low = at < 0 ? high : Math.max(low, Math.min(at, high));
    }
  } finally {
    await admin.disconnect();
  }
  const report: KeyedRecordsReport = {
    topic,
    partition,
    firstOffset: low,
    lastOffset: high - 1,
    records: 0,
    complete: high <= low,
  };
  if (high <= low) return report;

  const prefix = options.groupPrefix ? `${options.groupPrefix}-` : '';
  const consumer = kafka.consumer({ groupId: `${prefix}keyed-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let lastMessageAt: number | undefined;
    // Quiet counts from the group join, not from the call: on a loaded broker a join alone can take
    // longer than the quiet period, and a read that never started is no read.
    let joinedAt: number | undefined;
    consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ??= Date.now()));
    // Other partitions start at their end: only the key's partition is read.
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    // A transactional producer's commit marker takes the partition's last offset and is never handed to
    // eachMessage: a batch's end (control records included, after its messages) says how far was read.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic || payload.partition !== partition) return;
      if (Number(payload.lastOffset) >= high - 1) {
        report.complete = true;
        finish();
      }
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition: p, message }) => {
        if (p !== partition) return Promise.resolve();
        lastMessageAt = Date.now();
        const offset = Number(message.offset);
        if (offset < high && message.key?.toString() === key) {
          report.records += 1;
          onRecord({ topic, partition, offset: message.offset, value: message.value });
        }
        if (offset >= high - 1) {
          report.complete = true;
          finish();
        }
        return Promise.resolve();
      },
    });
    consumer.seek({ topic, partition, offset: String(low) });
    const startedAt = Date.now();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setInterval(() => {
      const now = Date.now();
      const quiet =
        lastMessageAt === undefined
          ? joinedAt !== undefined && now - joinedAt > QUIET_MS * 4
          : now - lastMessageAt > QUIET_MS;
      if (quiet || now - startedAt > timeoutMs) finish();
    }, 100);
    await done;
    clearInterval(timer);
    return report;
  } finally {
    await consumer.disconnect();
  }
}
