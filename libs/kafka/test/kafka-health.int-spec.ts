import { afterAll, describe, expect, inject, it } from 'vitest';
import { KafkaHealthProbe } from '../src';
import { testLogger, localStack, stackEndpoints, waitUntil } from './kafka-test-kit';

// Declared by libs/testing's global setup, which this project's tsconfig does not include.
declare module 'vitest' {
  export interface ProvidedContext {
    stackSource: string;
  }
}

// stack.sh can stop and start only the broker it runs itself, not a container's.
describe.skipIf(inject('stackSource') === 'testcontainers')('KafkaHealthProbe', () => {
  const probe = new KafkaHealthProbe({
    clientId: 'it-health',
    ...stackEndpoints().kafka,
    logger: testLogger,
  });
  afterAll(() => probe.close());

  async function timed(check: Promise<void>): Promise<{ ok: boolean; ms: number; error?: string }> {
    const started = Date.now();
    try {
      await check;
      return { ok: true, ms: Date.now() - started };
    } catch (error) {
      return { ok: false, ms: Date.now() - started, error: (error as Error).message };
    }
  }

  it('fails fast while the broker is down and recovers when it is back, without a new probe', async () => {
    expect(probe.name).toBe('kafka');
    await probe.check();

    try {
      await localStack('stop-kafka');
      for (let i = 0; i < 3; i++) {
        const down = await timed(probe.check());
        expect(down.ok, 'check() must reject while the broker is down').toBe(false);
        // Within its own 2 s timeout, not after kafkajs' retries (tens of seconds); the margin is for a
        // loaded machine's late timers, not for the probe.
        expect(down.ms).toBeLessThan(10_000);
      }
    } finally {
      // Whatever happened above, the next suite needs its broker.
      await localStack('start-kafka');
    }

    await waitUntil(async () => (await timed(probe.check())).ok, {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: 'the probe to pass again after the broker restart',
    });
    const up = await timed(probe.check());
    // ok means it answered inside its own 2 s timeout.
    expect(up).toMatchObject({ ok: true });
  });
});
