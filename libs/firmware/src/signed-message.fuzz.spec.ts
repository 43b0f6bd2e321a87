// Spec §6.10: fuzzed directives (into the meter) and receipts (into the distributor). None may throw,
// none may reach the catch-all ("unexpected"), and none may verify unless it is the genuine object.
import { describe, expect, it, vi } from 'vitest';
import { NOW, directive, newKeyPair, receipt } from '../test/fixtures';
import { mutateBytes, mutateJson, rng } from '../test/fuzz';
import { canonicalize } from './canonical-json';
import { signDirective, verifyDirective } from './directive';
import { signReceipt, verifyReceipt } from './receipt';

vi.setConfig({ testTimeout: 120_000 });

const key = newKeyPair();
const RUNS = 5_000;

function fuzz(genuine: Buffer, verify: (bytes: Buffer) => { ok: boolean; message?: string }, field: string) {
  const random = rng(0xd1ec);
  const original = canonicalize((JSON.parse(genuine.toString()) as Record<string, unknown>)[field]);
  let refused = 0;
  for (let i = 0; i < RUNS; i++) {
    const bytes =
      random() < 0.6
        ? Buffer.from(JSON.stringify(mutateJson(JSON.parse(genuine.toString()), random)) ?? 'null')
        : mutateBytes(genuine, random);
    const result = verify(bytes);
    if (result.ok) {
      const value = (JSON.parse(bytes.toString()) as Record<string, unknown>)[field];
      expect(canonicalize(value), `run ${i} accepted a forged ${field}`).toBe(original);
    } else {
      expect(result.message, `run ${i}`).not.toMatch(/^unexpected/);
      refused++;
    }
  }
  expect(refused).toBeGreaterThan(RUNS / 2);
}

describe('directives and receipts under fuzzing', () => {
  it(`verifyDirective: ${RUNS} mutated or random directives`, () => {
    const genuine = signDirective(directive(), key.privateKey);
    fuzz(
      genuine,
      (bytes) =>
        verifyDirective(bytes, key.publicKey, { deviceId: 'MTR-000001', lastCounter: 0, trustedNow: NOW }),
      'directive',
    );
  });

  it(`verifyReceipt: ${RUNS} mutated or random receipts`, () => {
    const genuine = signReceipt(receipt(), key.privateKey);
    fuzz(
      genuine,
      (bytes) =>
        verifyReceipt(bytes, key.publicKey, {
          deviceId: 'MTR-000001',
          executionId: 'exe-000001',
          nonce: receipt().nonce,
        }),
      'receipt',
    );
  });
});
