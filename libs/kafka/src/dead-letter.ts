import { DLQ_HEADERS, deadLetterTopicName } from '@meterkeep/contracts';
import type { IHeaders, Message } from 'kafkajs';

/** Headers are small; a reason quoting a huge payload or stack is cut here. */
export const MAX_REASON_LENGTH = 1_000;

export interface DeadLetterSource {
  topic: string;
  partition: number;
  message: { key: Buffer | null; value: Buffer | null; headers?: IHeaders; offset: string };
}

export interface DeadLetterRecord {
  topic: string;
  message: Message;
}

export function truncateReason(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH ? reason : `${reason.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/**
 * The record written to `<topic>.dlq`: the original key, value and headers untouched (so it can be
 * replayed as it was), plus where it came from, when and why it failed.
 */
export function buildDeadLetterRecord(
  source: DeadLetterSource,
  reason: string,
  failedAt: Date,
): DeadLetterRecord {
  const headers: IHeaders = {
    ...source.message.headers,
    [DLQ_HEADERS.reason]: truncateReason(reason),
    [DLQ_HEADERS.sourceTopic]: source.topic,
    [DLQ_HEADERS.sourcePartition]: String(source.partition),
    [DLQ_HEADERS.sourceOffset]: source.message.offset,
    [DLQ_HEADERS.failedAt]: failedAt.toISOString(),
  };
  return {
    topic: deadLetterTopicName(source.topic),
    message: { key: source.message.key, value: source.message.value, headers },
  };
}
