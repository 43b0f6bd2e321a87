import { describe, expect, it } from 'vitest';
import type { CertificateEntry, DeviceEntry } from '@meterkeep/device-directory';
import { type DirectoryView, type Sender, authorizeSender } from './authorize-sender';

const now = Date.parse('2026-11-26T12:00:00Z');
const sender: Sender = { tenantId: 't1', endpointName: 'GW-1', serial: 'aa01', notAfter: now + 86_400_000 };

function view(
  devices: Record<string, DeviceEntry>,
  certificates: Record<string, CertificateEntry>,
  caughtUp = true,
): DirectoryView {
  return { caughtUp, device: (id) => devices[id], certificate: (id) => certificates[id] };
}
const active = (gatewayId?: string): DeviceEntry => ({ status: 'ACTIVE', gatewayId });
const current: CertificateEntry = { serial: 'aa01', status: 'valid', notAfter: now + 86_400_000 };

describe('authorizeSender', () => {
  it('lets an active meter post for itself, and a gateway for its meters', () => {
    const v = view({ 'GW-1': active(), 'MTR-2': active('GW-1') }, { 'GW-1': current });
    expect(authorizeSender(sender, 'GW-1', v, now)).toEqual({ ok: true });
    expect(authorizeSender(sender, 'MTR-2', v, now)).toEqual({ ok: true });
  });

  it.each<[string, Record<string, DeviceEntry>, string]>([
    ['a meter assigned to another gateway', { 'GW-1': active(), 'MTR-2': active('GW-9') }, 'NOT_YOUR_METER'],
    ['a meter with no gateway', { 'GW-1': active(), 'MTR-2': active() }, 'NOT_YOUR_METER'],
    ['a meter unknown to this tenant', { 'GW-1': active() }, 'NOT_YOUR_METER'],
    [
      'an assigned meter that is suspended',
      { 'GW-1': active(), 'MTR-2': { status: 'SUSPENDED', gatewayId: 'GW-1' } },
      'METER_NOT_ACTIVE',
    ],
  ])('refuses posting for %s', (_, devices, code) => {
    const verdict = authorizeSender(sender, 'MTR-2', view(devices, { 'GW-1': current }), now);
    expect(verdict).toMatchObject({ ok: false, kind: 'forbidden', code });
  });

  it.each([
    ['a replaced certificate', { serial: 'bb02', status: 'valid' }, 'unauthenticated', 'CERTIFICATE_REVOKED'],
    [
      'a revoked certificate',
      { serial: 'aa01', status: 'revoked' },
      'unauthenticated',
      'CERTIFICATE_REVOKED',
    ],
  ] as const)('refuses %s', (_, certificate, kind, code) => {
    const v = view({ 'GW-1': active() }, { 'GW-1': { ...certificate, notAfter: now + 1 } });
    expect(authorizeSender(sender, 'GW-1', v, now)).toMatchObject({ ok: false, kind, code });
  });

  it('refuses a suspended or decommissioned sender, and an expired certificate', () => {
    for (const status of ['SUSPENDED', 'DECOMMISSIONED', 'ENROLLED'] as const)
      expect(
        authorizeSender(
          sender,
          'GW-1',
          view({ 'GW-1': { status, gatewayId: undefined } }, { 'GW-1': current }),
          now,
        ),
      ).toMatchObject({ ok: false, code: 'METER_NOT_ACTIVE' });
    expect(
      authorizeSender(
        { ...sender, notAfter: now },
        'GW-1',
        view({ 'GW-1': active() }, { 'GW-1': current }),
        now,
      ),
    ).toMatchObject({ ok: false, code: 'CERTIFICATE_EXPIRED' });
  });

  it('says retry later for what it does not know before catching up, and refuses it after', () => {
    expect(authorizeSender(sender, 'GW-1', view({}, {}, false), now)).toMatchObject({ kind: 'unavailable' });
    expect(authorizeSender(sender, 'GW-1', view({}, {}, true), now)).toMatchObject({
      kind: 'forbidden',
      code: 'METER_NOT_ACTIVE',
    });
  });
});
