import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { kafkaEnv, otelSchema, postgresEnv, s3Env, serviceEnv } from './env-schemas';
import { ConfigError, describeEnvironment, loadConfig, maskUrlCredentials } from './load-config';

const schema = z.object({ ...serviceEnv, ...kafkaEnv, ...postgresEnv });

describe('loadConfig', () => {
  it('returns typed values with defaults', () => {
    const config = loadConfig(schema, {
      KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.2:19092',
      DATABASE_URL: 'postgres://meterkeep@127.0.0.1:5432/meterkeep',
      PORT: '3001',
    });
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:19092', '127.0.0.2:19092']);
    expect(config.PORT).toBe(3001);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('names a missing variable, and treats an empty one as missing', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://h/db', KAFKA_BROKERS: '' })).toThrow(
      /KAFKA_BROKERS is required/,
    );
  });

  it('names every malformed variable at once', () => {
    try {
      loadConfig(schema, { KAFKA_BROKERS: 'no-port', DATABASE_URL: 'mysql://h/db', PORT: '70000' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/KAFKA_BROKERS.*host:port/);
      expect(problems).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
      expect(problems).toMatch(/PORT/);
    }
  });

  it('requires the collector only when something is exported to one', () => {
    expect(loadConfig(otelSchema, {}).OTEL_TRACES_EXPORTER).toBe('none');
    expect(() => loadConfig(otelSchema, { OTEL_TRACES_EXPORTER: 'otlp' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(
      loadConfig(otelSchema, {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      }).OTEL_EXPORTER_OTLP_ENDPOINT,
    ).toBe('http://collector:4318');
  });

  it('requires S3 credentials', () => {
    expect(() => loadConfig(z.object(s3Env), { S3_ACCESS_KEY_ID: 'id' })).toThrow(
      /S3_SECRET_ACCESS_KEY is required/,
    );
  });
});

describe('describeEnvironment', () => {
  it('masks secrets and URL passwords', () => {
    const described = describeEnvironment(['S3_SECRET_ACCESS_KEY', 'DATABASE_URL', 'PORT', 'UNSET'], {
      S3_SECRET_ACCESS_KEY: 'hunter2',
      DATABASE_URL: 'postgres://svc:pa55@db:5432/meterkeep',
      PORT: '3000',
    });
    expect(described).toEqual({
      S3_SECRET_ACCESS_KEY: '********',
      DATABASE_URL: 'postgres://svc:********@db:5432/meterkeep',
      PORT: '3000',
    });
    expect(JSON.stringify(described)).not.toMatch(/hunter2|pa55/);
    expect(maskUrlCredentials('redis://cache:6379')).toBe('redis://cache:6379');
  });

  it('masks a password without a user, and credentials in query parameters', () => {
    expect(maskUrlCredentials('redis://:hunter2@cache:6379/2')).toBe('redis://:********@cache:6379/2');
    expect(maskUrlCredentials('redis://cache:6379/0?password=hunter2&db=1')).toBe(
      'redis://cache:6379/0?password=********&db=1',
    );
    expect(maskUrlCredentials('https://s3/b/o?X-Amz-Signature=abc&X-Amz-Expires=60')).toBe(
      'https://s3/b/o?X-Amz-Signature=********&X-Amz-Expires=60',
    );
    expect(maskUrlCredentials('postgres://svc:p@ss/w:rd@db/x')).toBe('postgres://svc:********@db/x');
    expect(
      describeEnvironment(['KAFKA_SASL_PASSWORD_FILE'], { KAFKA_SASL_PASSWORD_FILE: '/run/pw' }),
    ).toEqual({
      KAFKA_SASL_PASSWORD_FILE: '/run/pw',
    });
  });
});
