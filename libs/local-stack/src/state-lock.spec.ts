import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withStateLock } from './state-lock';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mk-lock-'));
  dirs.push(dir);
  return dir;
};

describe('withStateLock', () => {
  it('runs one command at a time on a state dir, and leaves no lock behind', async () => {
    const dir = stateDir();
    const order: string[] = [];
    const work = (name: string) => async () => {
      order.push(`${name} in`);
      expect(readFileSync(join(dir, 'stack.lock'), 'utf8').trim()).toBe(String(process.pid));
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push(`${name} out`);
    };
    await Promise.all([withStateLock(dir, work('a')), withStateLock(dir, work('b'))]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });

  it('takes over a lock whose holder died', async () => {
    const dir = stateDir();
    // Pids are below 2^22 on Linux: this one cannot be alive.
    writeFileSync(join(dir, 'stack.lock'), '4999999\n');
    await expect(withStateLock(dir, () => Promise.resolve('ran'), 2_000)).resolves.toBe('ran');
  });

  it('waits for a live holder, then gives up naming it', async () => {
    const dir = stateDir();
    // The test runner's parent: alive for as long as this test.
    writeFileSync(join(dir, 'stack.lock'), `${process.ppid}\n`);
    await expect(withStateLock(dir, () => Promise.resolve('ran'), 300)).rejects.toThrow(
      `another stack.sh is still running on ${dir}`,
    );
  });

  it('releases the lock when the command fails', async () => {
    const dir = stateDir();
    await expect(withStateLock(dir, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });
});
