import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import type { DeviceFirmwareState, Directive, FirmwareManifest, Receipt } from '../src/index';

export interface TestKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export const newKeyPair = (): TestKeyPair => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A fixed "trusted now" inside every fixture's validity. */
export const NOW = new Date('2026-12-02T12:00:00.000Z');
export const days = (n: number) => n * 24 * 3600 * 1000;
export const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
export const iso = (offsetMs: number) => at(offsetMs).toISOString();

export const DIGEST_A = 'a'.repeat(64);
export const DIGEST_B = 'b'.repeat(64);

export function manifest(overrides: Partial<FirmwareManifest> = {}): FirmwareManifest {
  return {
    manifestVersion: 1,
    sequenceNumber: 43,
    vendorId: 'acme',
    classId: 'em300-v2',
    components: [
      {
        id: ['app'],
        version: '4.3.0',
        format: 'raw',
        digest: { alg: 'sha-256', value: DIGEST_A },
        size: 1_048_576,
      },
    ],
    issuedAt: iso(-days(1)),
    expiresAt: iso(days(89)),
    description: 'Tariff engine 4.3: dual-rate switch at local midnight',
    ...overrides,
  };
}

export function device(overrides: Partial<DeviceFirmwareState> = {}): DeviceFirmwareState {
  return {
    vendorId: 'acme',
    classId: 'em300-v2',
    components: {
      app: { installedSequence: 42, installedManifestDigest: DIGEST_B },
      modem: { installedSequence: 7, installedManifestDigest: DIGEST_B },
    },
    ...overrides,
  };
}

export function directive(overrides: Partial<Directive> = {}): Directive {
  return {
    deviceId: 'MTR-000001',
    executionId: 'exe-000001',
    campaignId: 'fw-2026-12',
    manifestDigest: DIGEST_A,
    counter: 5,
    nonce: 'n0nce-n0nce-n0nce-n0nce',
    issuedAt: iso(-3600_000),
    expiresAt: iso(days(1) - 3600_000),
    actionType: 'soft',
    pollAfterSeconds: 3600,
    ...overrides,
  };
}

export function receipt(overrides: Partial<Receipt> = {}): Receipt {
  return {
    deviceId: 'MTR-000001',
    executionId: 'exe-000001',
    manifestDigest: DIGEST_A,
    sequenceNumber: 43,
    bootedSlot: 'B',
    bootedImageDigests: { app: DIGEST_A },
    confirmedAt: iso(0),
    nonce: 'n0nce-n0nce-n0nce-n0nce',
    ...overrides,
  };
}

/** JSON as a test edits it: any shape, on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests forge arbitrary envelopes
export type LooseJson = any;

/** Parses envelope bytes, lets a test edit the JSON, writes it back (no re-signing). */
export function editEnvelope(bytes: Buffer, edit: (envelope: LooseJson) => void): Buffer {
  const envelope: LooseJson = JSON.parse(bytes.toString('utf8'));
  edit(envelope);
  return Buffer.from(JSON.stringify(envelope));
}
