import { describe, expect, it } from 'vitest';
import { ProgressBar } from './progress';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 100, writes, write: (text: string) => writes.push(text) };
}

describe('ProgressBar', () => {
  it("shows count, rate and ETA, counting only this run's work in the rate", () => {
    let now = 0;
    const out = sink(false);
    const bar = new ProgressBar('batch create', 10_000, out, () => now);
    bar.skip(2_000);
    now = 2_000;
    bar.add(4_000);
    expect(out.writes).toEqual(['batch create 6,000/10,000 60% 2,000/s ETA 0:02\n']);
  });

  it('writes plain lines at most every two seconds off a terminal', () => {
    let now = 0;
    const out = sink(false);
    const bar = new ProgressBar('x', 100, out, () => now);
    for (let i = 0; i < 10; i++) {
      now += 500;
      bar.add(10);
    }
    bar.finish();
    expect(out.writes.length).toBe(2 + 1); // at 2 s and 4 s, then the final state
    expect(out.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
  });

  it('redraws one line in place on a terminal', () => {
    let now = 0;
    const out = sink(true);
    const bar = new ProgressBar('x', 100, out, () => now);
    now = 1_000;
    bar.add(50);
    bar.finish();
    const [first] = out.writes;
    expect(first?.startsWith('\r[')).toBe(true);
    expect(first?.endsWith('\u001b[K')).toBe(true); // erase to the end of the line
    expect(first).toMatch(/\[#+-+\] x 50\/100 50% 50\/s ETA 0:01/);
    expect(out.writes.at(-1)).toBe('\n');
  });
});
