import { describe, expect, it } from 'vitest';
import { FactoryError } from '../factory.errors';
import { schedule } from './chunk-scheduler';

function* range(n: number, produced: number[]) {
  for (let i = 0; i < n; i++) {
    produced.push(i);
    yield i;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('schedule', () => {
  it('never has more than maxInFlight jobs out, and pulls jobs only as room frees', async () => {
    let running = 0;
    let peak = 0;
    const produced: number[] = [];
    const done: number[] = [];
    await schedule({
      jobs: range(50, produced),
      run: async (i) => {
        running++;
        peak = Math.max(peak, running);
        expect(produced.length - done.length).toBeLessThanOrEqual(4);
        await tick();
        running--;
        return i;
      },
      onDone: (i) => {
        done.push(i);
      },
      maxInFlight: 4,
    });
    expect(peak).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('stops at the first failure and reports it', async () => {
    const produced: number[] = [];
    await expect(
      schedule({
        jobs: range(100, produced),
        run: async (i) => {
          await tick();
          if (i === 3) throw new Error('chunk 3 failed');
          return i;
        },
        onDone: () => undefined,
        maxInFlight: 2,
      }),
    ).rejects.toThrow('chunk 3 failed');
    expect(produced.length).toBeLessThan(10);
  });

  it('stops when aborted, as INTERRUPTED', async () => {
    const controller = new AbortController();
    const run = schedule({
      jobs: range(1_000, []),
      run: async (i) => {
        await tick();
        if (i === 5) controller.abort();
        return i;
      },
      onDone: () => undefined,
      maxInFlight: 2,
      signal: controller.signal,
    });
    await expect(run).rejects.toSatisfy((e) => e instanceof FactoryError && e.code === 'INTERRUPTED');
  });
});
