// Spec §4.1 THREAT.IMG.EXPIRED, THREAT.IMG.EXPIRED.OFFLINE, THREAT.IMG.INCOMPATIBLE, THREAT.IMG.FORMAT
// and THREAT.IMG.LOCATION, as the meter checks a verified manifest against itself (§6.3 order).
import { describe, expect, it } from 'vitest';
import { DIGEST_A, DIGEST_B, NOW, at, days, device, manifest } from '../test/fixtures';
import { checkManifestForDevice } from './device-check';
import type { FirmwareManifest } from './manifest.schema';

const DIGEST = 'c'.repeat(64);
const code = (result: ReturnType<typeof checkManifestForDevice>) => (result.ok ? 'ok' : result.code);

describe('checkManifestForDevice', () => {
  it('accepts a newer, unexpired manifest for this vendor, class and component', () => {
    expect(checkManifestForDevice(manifest(), device(), DIGEST, NOW)).toEqual({ ok: true });
  });

  it('suit.incompatible.vendor-mismatch-refused', () => {
    expect(code(checkManifestForDevice(manifest({ vendorId: 'other-vendor' }), device(), DIGEST, NOW))).toBe(
      'VENDOR_MISMATCH',
    );
    // Byte for byte: no case folding, no trimming.
    expect(code(checkManifestForDevice(manifest({ vendorId: 'ACME' }), device(), DIGEST, NOW))).toBe(
      'VENDOR_MISMATCH',
    );
  });

  it('suit.incompatible.class-mismatch-refused', () => {
    expect(code(checkManifestForDevice(manifest({ classId: 'em300-v3' }), device(), DIGEST, NOW))).toBe(
      'CLASS_MISMATCH',
    );
    expect(code(checkManifestForDevice(manifest({ classId: 'EM300-v2' }), device(), DIGEST, NOW))).toBe(
      'CLASS_MISMATCH',
    );
  });

  it('suit.img-expired.lower-sequence-refused', () => {
    // Installed: 42. Equal and lower are refused; higher passes.
    expect(code(checkManifestForDevice(manifest({ sequenceNumber: 42 }), device(), DIGEST, NOW))).toBe(
      'SEQUENCE_ROLLBACK',
    );
    expect(code(checkManifestForDevice(manifest({ sequenceNumber: 7 }), device(), DIGEST, NOW))).toBe(
      'SEQUENCE_ROLLBACK',
    );
    expect(code(checkManifestForDevice(manifest({ sequenceNumber: 43 }), device(), DIGEST, NOW))).toBe('ok');
    // Per component: the modem's counter (7) does not let an app manifest at 8 through.
    expect(code(checkManifestForDevice(manifest({ sequenceNumber: 8 }), device(), DIGEST, NOW))).toBe(
      'SEQUENCE_ROLLBACK',
    );
  });

  it('sim.already-installed-no-download: the same manifest digest that runs is ALREADY_INSTALLED, not a rollback', () => {
    const running = device({
      components: { app: { installedSequence: 43, installedManifestDigest: DIGEST_A } },
    });
    expect(checkManifestForDevice(manifest({ sequenceNumber: 43 }), running, DIGEST_A, NOW)).toMatchObject({
      ok: false,
      code: 'ALREADY_INSTALLED',
    });
    // Same sequence, other digest: a rollback.
    expect(code(checkManifestForDevice(manifest({ sequenceNumber: 43 }), running, DIGEST_B, NOW))).toBe(
      'SEQUENCE_ROLLBACK',
    );
  });

  it('suit.img-expired-offline.expired-manifest-refused (trusted time past expiresAt)', () => {
    const m = manifest({ expiresAt: at(days(1)).toISOString() });
    expect(code(checkManifestForDevice(m, device(), DIGEST, at(days(1))))).toBe('ok');
    expect(code(checkManifestForDevice(m, device(), DIGEST, at(days(1) + 1)))).toBe('MANIFEST_EXPIRED');
    expect(code(checkManifestForDevice(m, device(), DIGEST, at(days(120))))).toBe('MANIFEST_EXPIRED');
    const { expiresAt: _e, ...noExpiry } = manifest();
    expect(
      code(checkManifestForDevice({ ...noExpiry, endOfLife: true }, device(), DIGEST, at(days(3650)))),
    ).toBe('ok');
    expect(code(checkManifestForDevice(noExpiry as FirmwareManifest, device(), DIGEST, NOW))).toBe(
      'MANIFEST_EXPIRED',
    );
  });

  it('suit.format.unknown-format-refused', () => {
    const m = manifest();
    const lz4 = { ...m, components: [{ ...m.components[0]!, format: 'lz4' }] } as unknown as FirmwareManifest;
    expect(code(checkManifestForDevice(lz4, device(), DIGEST, NOW))).toBe('FORMAT_UNSUPPORTED');
  });

  it('suit.location.unknown-component-refused (metrology on a class without one)', () => {
    const m = manifest({
      components: [
        {
          id: ['metrology'],
          version: '2.0.0',
          format: 'raw',
          digest: { alg: 'sha-256', value: DIGEST_A },
          size: 4096,
        },
      ],
    });
    expect(code(checkManifestForDevice(m, device(), DIGEST, NOW))).toBe('COMPONENT_UNKNOWN');
  });

  it('reports the first failure in §6.3 order', () => {
    const everythingWrong = manifest({
      vendorId: 'x',
      classId: 'y',
      sequenceNumber: 1,
      expiresAt: at(-days(1) + 1).toISOString(),
      components: [
        {
          id: ['metrology'],
          version: '1',
          format: 'raw',
          digest: { alg: 'sha-256', value: DIGEST_A },
          size: 1,
        },
      ],
    });
    const steps: [Partial<FirmwareManifest>, string][] = [
      [{}, 'VENDOR_MISMATCH'],
      [{ vendorId: 'acme' }, 'CLASS_MISMATCH'],
      [{ vendorId: 'acme', classId: 'em300-v2' }, 'MANIFEST_EXPIRED'],
    ];
    for (const [fix, expected] of steps) {
      expect(code(checkManifestForDevice({ ...everythingWrong, ...fix }, device(), DIGEST, NOW))).toBe(
        expected,
      );
    }
    const sequenceFirst = manifest({ sequenceNumber: 1, expiresAt: at(-1).toISOString() });
    expect(code(checkManifestForDevice(sequenceFirst, device(), DIGEST, NOW))).toBe('SEQUENCE_ROLLBACK');
  });
});
