import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '@meterkeep/config';
import { BootstrapConfig } from './config';

const required = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  DATABASE_URL: 'postgres://meterkeep@127.0.0.1:5432/meterkeep',
  REDIS_URL: 'redis://127.0.0.1:6379',
  BOOTSTRAP_KEK: randomBytes(32).toString('base64'),
  SERVICE_TLS_CERT_FILE: '/run/identity/tls.crt',
  SERVICE_TLS_KEY_FILE: '/run/identity/tls.key',
  PLATFORM_CA_FILE: '/run/identity/ca.crt',
};

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(BootstrapConfig, env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('bootstrap configuration', () => {
  it('has defaults for the device side', () => {
    const config = loadConfig(BootstrapConfig, required);
    expect(config.BOOTSTRAP_TLS_PORT).toBe(8443);
    expect(config.BOOTSTRAP_TLS_HOSTNAMES).toEqual(['localhost', '127.0.0.1']);
    expect(config.BOOTSTRAP_CERT_VALIDITY).toBe(7 * 86_400_000);
    expect(config.BOOTSTRAP_RATE_LIMIT_PER_METER).toBe(10);
    expect(config.BOOTSTRAP_RATE_LIMIT_PER_SOURCE).toBe(600);
    expect(config.ENROLLMENT_INTERNAL_URL).toBe('https://127.0.0.1:3101');
    expect(config.BOOTSTRAP_KEK).toHaveLength(32);
  });

  it('names each missing or malformed variable', () => {
    expect(problems({ ...required, BOOTSTRAP_KEK: '' })).toEqual(['BOOTSTRAP_KEK is required']);
    const { SERVICE_TLS_CERT_FILE: _unset, ...withoutCertificate } = required;
    expect(problems(withoutCertificate)[0]).toMatch(/^SERVICE_TLS_CERT_FILE/);
    expect(problems({ ...required, BOOTSTRAP_KEK: randomBytes(16).toString('base64') })[0]).toMatch(
      /^BOOTSTRAP_KEK: .*32 bytes/,
    );
    expect(problems({ ...required, BOOTSTRAP_CERT_VALIDITY: '7 days' })[0]).toMatch(
      /^BOOTSTRAP_CERT_VALIDITY: /,
    );
    expect(problems({ ...required, BOOTSTRAP_CERT_VALIDITY: '1m' })[0]).toMatch(/^BOOTSTRAP_CERT_VALIDITY: /);
    expect(problems({ ...required, BOOTSTRAP_TLS_HOSTNAMES: 'meters.example.com, bad name' })[0]).toMatch(
      /^BOOTSTRAP_TLS_HOSTNAMES/,
    );
    expect(problems({ ...required, BOOTSTRAP_TELEMETRY_URI: 'http://telemetry' })[0]).toMatch(
      /^BOOTSTRAP_TELEMETRY_URI: /,
    );
    expect(problems({ ...required, BOOTSTRAP_TLS_CERT_FILE: '/etc/tls/cert.pem' })[0]).toMatch(
      /BOOTSTRAP_TLS_KEY_FILE: .*both or neither/,
    );
  });

  it('reads validity and host names', () => {
    const config = loadConfig(BootstrapConfig, {
      ...required,
      BOOTSTRAP_CERT_VALIDITY: '12h',
      BOOTSTRAP_TLS_HOSTNAMES: 'bootstrap.meters.example.com, 10.0.0.7,::1',
    });
    expect(config.BOOTSTRAP_CERT_VALIDITY).toBe(43_200_000);
    expect(config.BOOTSTRAP_TLS_HOSTNAMES).toEqual(['bootstrap.meters.example.com', '10.0.0.7', '::1']);
  });
});
