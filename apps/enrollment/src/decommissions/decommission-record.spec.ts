import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDocumentSignature, signDocument } from '@meterkeep/firmware';
import {
  type StepConfirmation,
  decommissionRecord,
  decommissionRecordSchema,
  missingSteps,
  retryDelayMs,
} from './decommission-record';

const at = new Date('2026-12-03T10:00:00.000Z');
const step = (service: string, outcome: StepConfirmation['outcome']): StepConfirmation => ({
  service,
  instance: `${service}-0`,
  outcome,
  attempt: 1,
  detail: 'done',
  facts: { n: 1 },
  eventId: `ev-${service}`,
  confirmedAt: at,
});
const input = (confirmations: StepConfirmation[]) => ({
  decommissionId: 'dc-1',
  tenantId: 'utility-north',
  deviceId: 'MTR-0001',
  requestedBy: 'key_1',
  requestedAt: at,
  credentialKind: 'certificate' as const,
  attempts: 2,
  confirmations,
  chainHeadBefore: { sequence: 4, digest: 'a'.repeat(64) },
  now: at,
});

describe('decommission steps', () => {
  it('counts a step done only when confirmed completed or not-applicable; pending and failed are missing', () => {
    expect(missingSteps([])).toEqual(['bootstrap', 'ota-distributor', 'privacy']);
    expect(
      missingSteps([
        step('bootstrap', 'completed'),
        step('ota-distributor', 'pending'),
        step('privacy', 'failed'),
      ]),
    ).toEqual(['ota-distributor', 'privacy']);
    expect(
      missingSteps([
        step('bootstrap', 'completed'),
        step('ota-distributor', 'not-applicable'),
        step('privacy', 'completed'),
      ]),
    ).toEqual([]);
  });

  it('backs off by doubling, at most a minute', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(500, n))).toEqual([500, 1000, 2000]);
    expect(retryDelayMs(2000, 50)).toBe(60_000);
  });
});

describe('decommissionRecord', () => {
  it('refuses to record while a step is missing', () => {
    expect(() => decommissionRecord(input([step('bootstrap', 'completed')]))).toThrow(
      'steps not confirmed: ota-distributor, privacy',
    );
  });

  it('is signed ES256 over its canonical form; a changed byte or another key fails verification', () => {
    const unsigned = decommissionRecord(
      input([
        step('privacy', 'completed'),
        step('bootstrap', 'completed'),
        step('ota-distributor', 'completed'),
      ]),
    );
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = signDocument(unsigned, privateKey);
    expect(decommissionRecordSchema.parse(signed)).toEqual(signed);
    expect(signed.steps.map((s) => s.service)).toEqual(['bootstrap', 'ota-distributor', 'privacy']);
    expect(checkDocumentSignature(signed, publicKey)).toEqual({ ok: true });
    expect(checkDocumentSignature({ ...signed, deviceId: 'MTR-0002' }, publicKey)).toMatchObject({
      ok: false,
    });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(checkDocumentSignature(signed, other)).toMatchObject({ ok: false });
  });
});
