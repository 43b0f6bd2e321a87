import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type EventHeaders, decodeHeaders } from './trace-headers';

/** How long without a record before the read is taken as complete. */
const QUIET_MS = 1_500;

export interface RecentRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: EventHeaders;
}

/**
 * Reads what was committed to some topics since a moment, up to their ends as they are when called,
 * then stops: for a service that must learn what an earlier run of itself wrote (read committed, a
 * throw-away group, nothing committed).
 */
export async function readRecentRecords(
  kafka: Kafka,
  topics: readonly string[],
  sinceMs: number,
  onRecord: (record: RecentRecord) => void,
  timeoutMs = 60_000,
  /** The throw-away group is `<groupPrefix>-recent-<uuid>`: a name the caller's ACLs allow. */
  groupPrefix?: string,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const starts = new Map<string, number>();
  const ends = new Map<string, number>();
  try {
    for (const topic of topics) {
      const from = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
      const to = await admin.fetchTopicOffsets(topic);
      for (const { partition, offset } of from) starts.set(`${topic}:${partition}`, Number(offset));
      for (const { partition, high } of to) ends.set(`${topic}:${partition}`, Number(high));
    }
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([id, end]) => (starts.get(id) ?? end) < end).map(([id]) => id));
  if (pending.size === 0) return 0;

  const consumer = kafka.consumer({
    groupId: `${groupPrefix ? `${groupPrefix}-` : ''}recent-${randomUUID()}`,
    maxWaitTimeInMs: 200,
  });
  let count = 0;
  let lastMessageAt: number | undefined;
  let firstFetchAt: number | undefined;
  consumer.on(consumer.events.FETCH, () => {
    firstFetchAt ??= Date.now();
  });
  await consumer.connect();
  try {
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const id = `${topic}:${partition}`;
        const end = ends.get(id) ?? 0;
        if (Number(message.offset) < end) {
          count += 1;
          onRecord({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            headers: decodeHeaders(message.headers),
          });
        }
        lastMessageAt = Date.now();
        // Transaction markers take offsets too, and are never delivered: the last record delivered
        // may lie a few offsets before the end.
        if (Number(message.offset) >= end - 1) pending.delete(id);
        if (pending.size === 0) finish();
        return Promise.resolve();
      },
    });
    for (const [id, offset] of starts) {
      const [topic, partition] = [
        id.slice(0, id.lastIndexOf(':')),
        Number(id.slice(id.lastIndexOf(':') + 1)),
      ];
      consumer.seek({ topic, partition, offset: String(offset) });
    }
    // Done when every partition reached its end, or nothing came for a while once the group fetched
    // (the partitions left end in markers); `timeoutMs` bounds it all.
    const startedAt = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      const quiet =
        lastMessageAt === undefined ? now - startedAt > QUIET_MS * 3 : now - lastMessageAt > QUIET_MS;
      if (quiet || now - startedAt > timeoutMs) finish();
    }, 100);
    await done;
    clearInterval(timer);
    return count;
  } finally {
    await consumer.disconnect();
  }
}
