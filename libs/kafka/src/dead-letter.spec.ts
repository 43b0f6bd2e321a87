import { DLQ_HEADERS } from '@meterkeep/contracts';
import { describe, expect, it } from 'vitest';
import { MAX_REASON_LENGTH, buildDeadLetterRecord } from './dead-letter';

describe('buildDeadLetterRecord', () => {
  const failedAt = new Date('2026-01-02T03:04:05.678Z');
  const source = {
    topic: 'device.lifecycle.v1',
    partition: 3,
    message: {
      key: Buffer.from('tenant-1/meter-9'),
      value: Buffer.from('{not json'),
      headers: { traceparent: Buffer.from('00-abc-def-01'), 'x-custom': 'kept' },
      offset: '42',
    },
  };

  it('goes to <topic>.dlq with the original key, value and headers plus where and why it failed', () => {
    const record = buildDeadLetterRecord(source, 'invalid-json: Unexpected token n', failedAt);
    expect(record.topic).toBe('device.lifecycle.v1.dlq');
    expect(record.message.key).toBe(source.message.key);
    expect(record.message.value).toBe(source.message.value);
    expect(record.message.headers).toEqual({
      traceparent: source.message.headers.traceparent,
      'x-custom': 'kept',
      [DLQ_HEADERS.reason]: 'invalid-json: Unexpected token n',
      [DLQ_HEADERS.sourceTopic]: 'device.lifecycle.v1',
      [DLQ_HEADERS.sourcePartition]: '3',
      [DLQ_HEADERS.sourceOffset]: '42',
      [DLQ_HEADERS.failedAt]: '2026-01-02T03:04:05.678Z',
    });
  });

  it('keeps a null key and value (tombstones) as they are', () => {
    const record = buildDeadLetterRecord(
      { ...source, message: { key: null, value: null, offset: '7' } },
      'empty-value: the record has no value',
      failedAt,
    );
    expect(record.message).toMatchObject({ key: null, value: null });
    expect(record.message.headers?.[DLQ_HEADERS.sourceOffset]).toBe('7');
  });

  it('cuts a very long reason', () => {
    const record = buildDeadLetterRecord(source, `permanent-error: ${'x'.repeat(5_000)}`, failedAt);
    const reason = record.message.headers?.[DLQ_HEADERS.reason] as string;
    expect(reason).toHaveLength(MAX_REASON_LENGTH);
    expect(reason.startsWith('permanent-error: xxx')).toBe(true);
  });
});
