import { describe, expect, it } from 'vitest';
import type { PrivacyErasureRequestEvent } from '@meterkeep/contracts';
import type { EventProducer, KafkaClient } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import { type ErasureConfirmationOptions, ErasureConfirmer } from './erasure-confirmation.module';

const request: PrivacyErasureRequestEvent = {
  eventId: '3b4c5d6e-7f8a-4b9c-8d0e-1f2a3b4c5d6e',
  tenantId: 'utility-north',
  occurredAt: '2026-11-26T10:00:01.000Z',
  requestId: 'er-1',
  attempt: 3,
  meterIds: ['MTR-0001'],
  occupancyIds: ['occ-7f3e'],
  keyIds: ['dk-7f3e'],
};

function confirmerWith(answer: ErasureConfirmationOptions['answer']) {
  const published: unknown[] = [];
  const producer: Pick<EventProducer, 'publishMany'> = {
    publishMany: (_topic, events) => {
      published.push(...events);
      return Promise.resolve();
    },
  };
  const confirmer = new ErasureConfirmer(
    { service: 'bootstrap', instance: 'bootstrap-0', answer },
    {} as KafkaClient,
    producer,
    createLogger({ service: 'erasure-confirmer-spec', level: 'silent' }),
  );
  return { confirmer, published };
}

describe('ErasureConfirmer', () => {
  it('confirms the answer as this replica, for the request and its attempt', async () => {
    const { confirmer, published } = confirmerWith(() => ({
      outcome: 'not-applicable',
      detail: 'nothing held',
    }));
    await confirmer.confirm(request);
    expect(published).toEqual([
      expect.objectContaining({
        tenantId: 'utility-north',
        requestId: 'er-1',
        service: 'bootstrap',
        instance: 'bootstrap-0',
        outcome: 'not-applicable',
        detail: 'nothing held; attempt 3',
      }),
    ]);
  });

  it('confirms nothing when the purge throws (the consumer retries, the saga asks again)', async () => {
    const { confirmer, published } = confirmerWith(() => Promise.reject(new Error('redis down')));
    await expect(confirmer.confirm(request)).rejects.toThrow('redis down');
    expect(published).toEqual([]);
  });

  it('keeps the detail within the contract (512 characters)', async () => {
    const { confirmer, published } = confirmerWith(() => ({ outcome: 'completed', detail: 'x'.repeat(600) }));
    await confirmer.confirm(request);
    expect((published[0] as { detail: string }).detail).toHaveLength(512);
  });
});
