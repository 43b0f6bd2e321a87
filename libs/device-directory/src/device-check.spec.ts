import { describe, expect, it } from 'vitest';
import { type CertifiedSender, type DirectoryView, checkSender } from './device-check';
import type { CertificateEntry, DeviceEntry } from './device-directory';

const now = Date.parse('2026-12-03T12:00:00Z');
const sender: CertifiedSender = { endpointName: 'MTR-1', serial: 'aa01', notAfter: now + 86_400_000 };
const view = (
  device: DeviceEntry | undefined,
  certificate: CertificateEntry | undefined,
  caughtUp = true,
): DirectoryView => ({ caughtUp, device: () => device, certificate: () => certificate });
const active: DeviceEntry = { status: 'ACTIVE', gatewayId: undefined };
const current: CertificateEntry = { serial: 'aa01', status: 'valid', notAfter: now + 86_400_000 };

describe('checkSender', () => {
  it('serves the current certificate of an ACTIVE device', () => {
    expect(checkSender(sender, view(active, current), now)).toEqual({ ok: true, device: active });
  });

  it.each<[string, DirectoryView, CertifiedSender, string]>([
    ['an expired certificate', view(active, current), { ...sender, notAfter: now }, 'CERTIFICATE_EXPIRED'],
    ['a superseded certificate', view(active, { ...current, serial: 'bb02' }), sender, 'CERTIFICATE_REVOKED'],
    ['a revoked certificate', view(active, { ...current, status: 'revoked' }), sender, 'CERTIFICATE_REVOKED'],
    // Suspension revokes the certificate too: the meter is told it is not active, not to bootstrap again.
    [
      'a suspended meter, its certificate revoked',
      view({ status: 'SUSPENDED', gatewayId: undefined }, { ...current, status: 'revoked' }),
      sender,
      'METER_NOT_ACTIVE',
    ],
    [
      'a decommissioned meter',
      view({ status: 'DECOMMISSIONED', gatewayId: undefined }, current),
      sender,
      'METER_NOT_ACTIVE',
    ],
    ['an unknown meter once caught up', view(undefined, undefined), sender, 'METER_NOT_ACTIVE'],
    ['an unknown meter before catching up', view(undefined, undefined, false), sender, 'NOT_YET_KNOWN'],
    ['an unknown certificate before catching up', view(active, undefined, false), sender, 'NOT_YET_KNOWN'],
  ])('refuses %s', (_, directory, who, code) => {
    expect(checkSender(who, directory, now)).toMatchObject({ ok: false, code });
  });
});
