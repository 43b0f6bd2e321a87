import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaSecurity, redisSecurity } from './connection-security';
import { ConfigError } from './load-config';

const dir = mkdtempSync(join(tmpdir(), 'conn-sec-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('kafkaSecurity', () => {
  it('is empty for a plaintext cluster, and TLS with system CAs on KAFKA_SSL=true', () => {
    expect(kafkaSecurity({})).toEqual({});
    expect(kafkaSecurity({ KAFKA_SSL: true })).toEqual({ ssl: true });
  });

  it('reads the CA and the SCRAM password from files, without the trailing newline', () => {
    const security = kafkaSecurity({
      KAFKA_SSL_CA_FILE: file('ca.pem', 'CA PEM\n'),
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'bootstrap',
      KAFKA_SASL_PASSWORD_FILE: file('password', 's3cret-pw\n'),
    });
    expect(security).toEqual({
      ssl: { ca: 'CA PEM' },
      sasl: { mechanism: 'scram-sha-512', username: 'bootstrap', password: 's3cret-pw' },
    });
  });

  it('takes a client certificate and key for mutual TLS', () => {
    expect(
      kafkaSecurity({ KAFKA_SSL_CERT_FILE: file('c.pem', 'CERT'), KAFKA_SSL_KEY_FILE: file('k.pem', 'KEY') }),
    ).toEqual({ ssl: { cert: 'CERT', key: 'KEY' } });
  });

  it('names the variable to fix, never the secret', () => {
    const problems = (config: Parameters<typeof kafkaSecurity>[0]) => {
      try {
        kafkaSecurity(config);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toEqual([
      'KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE are required with KAFKA_SASL_MECHANISM',
    ]);
    expect(problems({ KAFKA_SSL_CERT_FILE: '/x' })).toEqual([
      'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together',
    ]);
    expect(
      problems({
        KAFKA_SSL: false,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: '/x',
      }),
    ).toContain('KAFKA_SSL: credentials are never sent without TLS; remove KAFKA_SSL=false');
    expect(
      problems({
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: join(dir, 'none'),
      }),
    ).toEqual([`KAFKA_SASL_PASSWORD_FILE: cannot read ${join(dir, 'none')} (ENOENT)`]);
    expect(
      problems({
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: file('empty', '\n'),
      }),
    ).toEqual([`KAFKA_SASL_PASSWORD_FILE: ${join(dir, 'empty')} is empty`]);
  });
});

describe('redisSecurity', () => {
  it('reads the ACL user password from its file and the CA for rediss://', () => {
    expect(redisSecurity({ REDIS_URL: 'redis://h:6379' })).toEqual({});
    expect(
      redisSecurity({
        REDIS_URL: 'rediss://h:6380',
        REDIS_USERNAME: 'bootstrap',
        REDIS_PASSWORD_FILE: file('redis-pw', 'pw\n'),
        REDIS_TLS_CA_FILE: file('redis-ca.pem', 'CA'),
      }),
    ).toEqual({ username: 'bootstrap', password: 'pw', tls: { ca: 'CA' } });
    expect(() => redisSecurity({ REDIS_URL: 'redis://h', REDIS_PASSWORD_FILE: '/x' })).toThrow(
      /REDIS_USERNAME/,
    );
    expect(() => redisSecurity({ REDIS_URL: 'redis://h', REDIS_TLS_CA_FILE: '/x' })).toThrow(/rediss:\/\//);
  });
});
