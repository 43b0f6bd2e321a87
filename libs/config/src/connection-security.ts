import { readFileSync } from 'node:fs';
import { ConfigError } from './load-config';

/** The Kafka settings of kafkaEnv that say how to connect (after loadConfig). */
export interface KafkaSecurityConfig {
  KAFKA_SSL?: boolean;
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SASL_MECHANISM?: 'scram-sha-512' | 'scram-sha-256';
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD_FILE?: string;
}

type ScramMechanism = 'scram-sha-512' | 'scram-sha-256';
type ScramCredentials = {
  [M in ScramMechanism]: { mechanism: M; username: string; password: string };
}[ScramMechanism];

/** TLS and SASL options in the shape kafkajs takes them (`ssl`, `sasl`); absent when not configured. */
export interface KafkaSecurity {
  ssl?: true | { ca?: string; cert?: string; key?: string };
  sasl?: ScramCredentials;
}

function readSecretFile(variable: string, path: string): string {
  try {
    // A trailing newline (echo "$secret" > file) is not part of the secret.
    const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    if (text === '') throw new ConfigError([`${variable}: ${path} is empty`]);
    return text;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`]);
  }
}

/**
 * Reads the files that KAFKA_SSL_* and KAFKA_SASL_* name, once at start-up. A half-given setting
 * (a mechanism without its user, a certificate without its key) fails with the variable to fix; the
 * secrets themselves never appear in a message.
 */
export function kafkaSecurity(config: KafkaSecurityConfig): KafkaSecurity {
  const problems: string[] = [];
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username } = config;
  const passwordFile = config.KAFKA_SASL_PASSWORD_FILE;
  if (mechanism && (!username || !passwordFile))
    problems.push('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE are required with KAFKA_SASL_MECHANISM');
  if (!mechanism && (username || passwordFile))
    problems.push('KAFKA_SASL_MECHANISM is required with KAFKA_SASL_USERNAME (scram-sha-512)');
  if (Boolean(config.KAFKA_SSL_CERT_FILE) !== Boolean(config.KAFKA_SSL_KEY_FILE))
    problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together');
  const files = config.KAFKA_SSL_CA_FILE || config.KAFKA_SSL_CERT_FILE;
  if (config.KAFKA_SSL === false && (files || mechanism))
    problems.push('KAFKA_SSL: credentials are never sent without TLS; remove KAFKA_SSL=false');
  if (problems.length > 0) throw new ConfigError(problems);

  const security: KafkaSecurity = {};
  if (files) {
    security.ssl = {
      ...(config.KAFKA_SSL_CA_FILE && { ca: readSecretFile('KAFKA_SSL_CA_FILE', config.KAFKA_SSL_CA_FILE) }),
      ...(config.KAFKA_SSL_CERT_FILE && {
        cert: readSecretFile('KAFKA_SSL_CERT_FILE', config.KAFKA_SSL_CERT_FILE),
        key: readSecretFile('KAFKA_SSL_KEY_FILE', config.KAFKA_SSL_KEY_FILE!),
      }),
    };
  } else if (config.KAFKA_SSL || mechanism) {
    // SASL goes over TLS only (SASL_SSL), with the system's CAs when none is named.
    security.ssl = true;
  }
  if (mechanism)
    security.sasl = {
      mechanism,
      username: username!,
      password: readSecretFile('KAFKA_SASL_PASSWORD_FILE', passwordFile!),
    };
  return security;
}

/** The Redis settings of redisEnv (after loadConfig). */
export interface RedisSecurityConfig {
  REDIS_URL: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD_FILE?: string;
  REDIS_TLS_CA_FILE?: string;
}

/** What ioredis takes besides the URL: the ACL user and its password, and the TLS CA for rediss://. */
export interface RedisSecurity {
  username?: string;
  password?: string;
  tls?: { ca: string };
}

export function redisSecurity(config: RedisSecurityConfig): RedisSecurity {
  const problems: string[] = [];
  if (config.REDIS_PASSWORD_FILE && !config.REDIS_USERNAME)
    problems.push('REDIS_USERNAME is required with REDIS_PASSWORD_FILE (a user per service, not "default")');
  if (config.REDIS_TLS_CA_FILE && !config.REDIS_URL.startsWith('rediss:'))
    problems.push('REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(config.REDIS_USERNAME && { username: config.REDIS_USERNAME }),
    ...(config.REDIS_PASSWORD_FILE && {
      password: readSecretFile('REDIS_PASSWORD_FILE', config.REDIS_PASSWORD_FILE),
    }),
    ...(config.REDIS_TLS_CA_FILE && {
      tls: { ca: readSecretFile('REDIS_TLS_CA_FILE', config.REDIS_TLS_CA_FILE) },
    }),
  };
}
