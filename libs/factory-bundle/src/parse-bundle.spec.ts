import { describe, expect, it } from 'vitest';
import { manufacturer, validBundle } from '../test/fixtures.js';
import { BundleError, parseBundle } from './index.js';

const m = manufacturer();
const good = validBundle(m);

function errorOf(input: unknown): BundleError {
  try {
    parseBundle(input);
  } catch (error) {
    if (error instanceof BundleError) return error;
    throw error;
  }
  throw new Error('parseBundle accepted the input');
}

describe('parseBundle', () => {
  it('accepts a complete bundle, as JSON text or as a value', () => {
    expect(parseBundle(JSON.stringify(good))).toEqual(good);
    expect(parseBundle(good)).toEqual(good);
  });

  it('refuses text that is not JSON, such as a truncated line', () => {
    const text = JSON.stringify(good);
    expect(errorOf(text.slice(0, text.length / 2)).code).toBe('MALFORMED_JSON');
  });

  it('refuses another format version by name', () => {
    const error = errorOf({ ...good, format: 'meterkeep.factory-bundle/2' });
    expect(error.code).toBe('UNSUPPORTED_FORMAT');
    expect(error.message).toContain('meterkeep.factory-bundle/2');
  });

  it('names the path of every missing or malformed field', () => {
    const { vendorId: _vendorId, ...withoutVendor } = good;
    const error = errorOf({
      ...withoutVendor,
      bootstrap: { ...good.bootstrap, serverUri: 'http://plain.example' },
    });
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.issues.map((i) => i.path).sort()).toEqual(['bootstrap.serverUri', 'vendorId']);
  });

  it('refuses unknown fields, so a typo cannot pass for an optional one', () => {
    expect(errorOf({ ...good, vendorID: 'acme' }).issues[0]?.message).toContain('vendorID');
  });

  it('lets only a device-key credential go without a private key, and never carry one', () => {
    if (good.credential.kind !== 'certificate' || good.credential.keyLocation !== 'bundle')
      throw new Error('fixture');
    const { privateKeyPem, ...rest } = good.credential;
    expect(errorOf({ ...good, credential: rest }).issues[0]?.path).toBe('credential.privateKeyPem');
    const device = { ...good, credential: { ...rest, keyLocation: 'device' } };
    expect(parseBundle(device).credential).toMatchObject({ kind: 'certificate', keyLocation: 'device' });
    expect(errorOf({ ...device, credential: { ...device.credential, privateKeyPem } }).code).toBe(
      'INVALID_BUNDLE',
    );
  });

  it('takes a PSK of exactly 32 bytes in canonical base64', () => {
    const psk = (pskBase64: string) => ({
      ...good,
      credential: { kind: 'psk', pskIdentity: 'EM300-000001', pskBase64 },
    });
    expect(parseBundle(psk(Buffer.alloc(32, 7).toString('base64'))).credential.kind).toBe('psk');
    expect(errorOf(psk(Buffer.alloc(16, 7).toString('base64'))).issues[0]?.path).toBe('credential.pskBase64');
    expect(errorOf(psk(`${Buffer.alloc(32, 7).toString('base64').slice(0, 42)}B=`)).code).toBe(
      'INVALID_BUNDLE',
    );
  });

  it('refuses names that would break the enrollment CSV', () => {
    expect(errorOf({ ...good, endpointName: 'EM300,000001' }).issues[0]?.path).toBe('endpointName');
    expect(errorOf({ ...good, model: 'EM "300"' }).issues[0]?.path).toBe('model');
  });
});
