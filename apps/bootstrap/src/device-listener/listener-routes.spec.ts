import { describe, expect, it } from 'vitest';
import { servesPath } from './listener-routes';

describe('which listener serves which path', () => {
  it('keeps the device API on the mutual-TLS listener', () => {
    for (const path of ['/bs/v1/bootstrap', '/bs/v1/renew', '/bs/v1/psk/nonce', '/bs/v1/psk/bootstrap']) {
      expect(servesPath('device', path)).toBe(true);
      expect(servesPath('operator', path)).toBe(false);
    }
  });

  it('serves health and docs only on the plain listener, and public PKI material on both', () => {
    for (const path of ['/health/live', '/health/ready', '/docs', '/docs-json']) {
      expect(servesPath('operator', path)).toBe(true);
      expect(servesPath('device', path)).toBe(false);
    }
    for (const path of ['/bs/v1/server-ca', '/bs/v1/tenants/utility-north/crl']) {
      expect(servesPath('operator', path)).toBe(true);
      expect(servesPath('device', path)).toBe(true);
    }
    expect(servesPath('operator', '/bs/v1/tenants/a/b/crl')).toBe(false);
    expect(servesPath('operator', '/')).toBe(false);
  });

  it('serves internal (service-to-service) routes on neither: they have a listener of their own', () => {
    for (const path of ['/internal/v1/server-certificates', '/internal/anything']) {
      expect(servesPath('operator', path)).toBe(false);
      expect(servesPath('device', path)).toBe(false);
    }
  });
});
