import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface OffsetRange {
  partition: number;
  /** Inclusive bounds; both are offsets of records that exist (or existed: retention may have gone past). */
  firstOffset: number;
  lastOffset: number;
}

export interface OffsetRangesReport {
  /** Records the brokers handed over on the ranges' partitions, in or out of a range: the read's cost. */
  fetched: number;
  /** Records inside the ranges, given to onRecord. */
  delivered: number;
}

/**
 * Reads only the given offset ranges of a topic (a throw-away group, nothing committed): each
 * partition is sought to its first range, and to the next one once a range is read. For an index that
 * says where a key's records lie, so a read costs its ranges and not a partition scan. A range whose
 * records retention removed ends at the partition's end. The value is handed over as bytes.
 */
export async function readOffsetRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly OffsetRange[],
  onRecord: (record: { partition: number; offset: number; value: Buffer | null }) => Promise<void> | void,
  options: { groupPrefix?: string; timeoutMs?: number; maxBytesPerPartition?: number } = {},
): Promise<OffsetRangesReport> {
  const report: OffsetRangesReport = { fetched: 0, delivered: 0 };
  const queues = new Map<number, OffsetRange[]>();
  for (const range of [...ranges].sort((a, b) => a.firstOffset - b.firstOffset)) {
    const queue = queues.get(range.partition) ?? [];
    queue.push(range);
    queues.set(range.partition, queue);
  }
  if (queues.size === 0) return report;

  // Where each partition ends now: a range past it (records retention removed) is not waited for.
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) ends.set(partition, Number(high));
  } finally {
    await admin.disconnect();
  }
  for (const [partition, queue] of queues) {
    const end = ends.get(partition) ?? 0;
    const live = queue
      .filter((r) => r.firstOffset < end)
      .map((r) => ({ ...r, lastOffset: Math.min(r.lastOffset, end - 1) }));
    if (live.length === 0) queues.delete(partition);
    else queues.set(partition, live);
  }
  if (queues.size === 0) return report;

  const prefix = options.groupPrefix ? `${options.groupPrefix}-` : '';
  const consumer = kafka.consumer({
    groupId: `${prefix}ranges-${randomUUID()}`,
    maxWaitTimeInMs: 200,
    // A fetch past a range's end is wasted: keep each one small.
    maxBytesPerPartition: options.maxBytesPerPartition ?? 256 * 1024,
  });
  await consumer.connect();
  try {
    let finish: (error?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => (finish = (e) => (e ? reject(e) : resolve())));
    const pending = new Set(queues.keys());
    const timer = setTimeout(
      () => finish(new Error(`offset ranges of ${topic} not read within the time allowed`)),
      options.timeoutMs ?? 120_000,
    );
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const queue = queues.get(partition);
        if (!queue) return;
        // Counted even once the partition's ranges are done: a fetch that ran past them cost as much.
        report.fetched += 1;
        if (queue.length === 0) return;
        const offset = Number(message.offset);
        const next = () => {
          const following = queue[0];
          if (following) consumer.seek({ topic, partition, offset: String(following.firstOffset) });
          else {
            consumer.pause([{ topic, partitions: [partition] }]);
            pending.delete(partition);
            if (pending.size === 0) finish();
          }
        };
        // A range's last record may be gone (compaction): the ranges it passed are done.
        let passed = false;
        while (queue[0] && offset > queue[0].lastOffset) {
          queue.shift();
          passed = true;
        }
        const range = queue[0];
        if (!range || offset < range.firstOffset) {
          if (passed) next();
          return;
        }
        report.delivered += 1;
        try {
          await onRecord({ partition, offset, value: message.value });
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (offset === range.lastOffset) {
          queue.shift();
          next();
        }
      },
    });
    for (const [partition, queue] of queues)
      consumer.seek({ topic, partition, offset: String(queue[0]!.firstOffset) });
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
    return report;
  } finally {
    await consumer.disconnect();
  }
}
