import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeEnvironment, loadConfig } from '@meterkeep/config';
import { PRIVACY_ENVIRONMENT, PrivacyConfig } from './config';

const valid = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  DATABASE_URL: 'postgres://meterkeep@127.0.0.1:5432/meterkeep',
  S3_ACCESS_KEY_ID: 'id',
  S3_SECRET_ACCESS_KEY: 'secret',
  PRIVACY_KEK: randomBytes(32).toString('base64'),
  SERVICE_TLS_CERT_FILE: '/run/identity/tls.crt',
  SERVICE_TLS_KEY_FILE: '/run/identity/tls.key',
  PLATFORM_CA_FILE: '/run/identity/ca.crt',
};

describe('privacy config', () => {
  it('reads the KEK as 32 bytes and defaults the enrollment URL', () => {
    const config = loadConfig(PrivacyConfig, valid);
    expect(config.PRIVACY_KEK).toEqual(Buffer.from(valid.PRIVACY_KEK, 'base64'));
    expect(config.ENROLLMENT_INTERNAL_URL).toBe('https://127.0.0.1:3101');
  });

  it('bounds back-dated move-outs to 90 days unless configured', () => {
    expect(loadConfig(PrivacyConfig, valid).PRIVACY_MAX_BACKDATE_DAYS).toBe(90);
    expect(
      loadConfig(PrivacyConfig, { ...valid, PRIVACY_MAX_BACKDATE_DAYS: '30' }).PRIVACY_MAX_BACKDATE_DAYS,
    ).toBe(30);
    expect(() => loadConfig(PrivacyConfig, { ...valid, PRIVACY_MAX_BACKDATE_DAYS: '-1' })).toThrow(
      /PRIVACY_MAX_BACKDATE_DAYS/,
    );
  });

  it.each([
    [{ PRIVACY_KEK: undefined }, /PRIVACY_KEK is required/],
    [{ PRIVACY_KEK: randomBytes(16).toString('base64') }, /PRIVACY_KEK: PRIVACY_KEK: 32 bytes, base64/],
    [{ PRIVACY_KEK: 'not base64!' }, /PRIVACY_KEK/],
    [{ PLATFORM_CA_FILE: undefined }, /PLATFORM_CA_FILE is required/],
    [{ ENROLLMENT_INTERNAL_URL: 'http://enrollment' }, /ENROLLMENT_INTERNAL_URL: must be an https/],
    [{ PRIVACY_DATA_KEY_GRANTS: '{"analytics": "acme"}' }, /PRIVACY_DATA_KEY_GRANTS/],
  ])('fails fast naming the variable: %o', (change, message) => {
    expect(() => loadConfig(PrivacyConfig, { ...valid, ...change })).toThrow(message);
  });

  it('masks the KEK in the start-up log', () => {
    const described = describeEnvironment(PRIVACY_ENVIRONMENT, valid);
    expect(described).toMatchObject({ PRIVACY_KEK: '********' });
    const text = JSON.stringify(described);
    expect(text).not.toContain(valid.PRIVACY_KEK);
  });
});
