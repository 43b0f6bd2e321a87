import { describe, expect, it } from 'vitest';
import type { EnrollmentDecommissionRequestEvent } from '@meterkeep/contracts';
import type { EventProducer, KafkaClient } from '@meterkeep/kafka';
import { createLogger } from '@meterkeep/observability';
import {
  type DecommissionConfirmationOptions,
  DecommissionConfirmer,
} from './decommission-confirmation.module';

const request: EnrollmentDecommissionRequestEvent = {
  eventId: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
  tenantId: 'utility-north',
  occurredAt: '2026-12-03T10:00:00.000Z',
  decommissionId: 'dc-1',
  attempt: 2,
  deviceId: 'MTR-0001',
  decommissionedAt: '2026-12-03T10:00:00.000Z',
};

function confirmerWith(answer: DecommissionConfirmationOptions['answer']) {
  const published: unknown[] = [];
  const producer: Pick<EventProducer, 'publishMany'> = {
    publishMany: (_topic, events) => {
      published.push(...events);
      return Promise.resolve();
    },
  };
  const confirmer = new DecommissionConfirmer(
    { service: 'ota-distributor', instance: 'ota-0', answer },
    {} as KafkaClient,
    producer,
    createLogger({ service: 'decommission-confirmer-spec', level: 'silent' }),
  );
  return { confirmer, published };
}

describe('DecommissionConfirmer', () => {
  it('confirms the step as this replica, for the saga, meter and attempt, with its facts', async () => {
    const { confirmer, published } = confirmerWith(() => ({
      outcome: 'completed',
      detail: '1 execution removed',
      facts: { executionsRemovedNow: 1 },
    }));
    await confirmer.confirm(request);
    expect(published).toEqual([
      expect.objectContaining({
        tenantId: 'utility-north',
        decommissionId: 'dc-1',
        deviceId: 'MTR-0001',
        service: 'ota-distributor',
        instance: 'ota-0',
        outcome: 'completed',
        attempt: 2,
        facts: { executionsRemovedNow: 1 },
      }),
    ]);
  });

  it('confirms nothing when the step throws (the consumer retries, the saga asks again)', async () => {
    const { confirmer, published } = confirmerWith(() => Promise.reject(new Error('db down')));
    await expect(confirmer.confirm(request)).rejects.toThrow('db down');
    expect(published).toEqual([]);
  });
});
