// Holds every service's start-up log (runMain logs describeEnvironment of its whole config schema) and
// its invalid-configuration message to one rule: no credential given in any variable reaches them.
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeEnvironment, loadConfig } from '@meterkeep/config';
import { createLogger } from '@meterkeep/observability';

const root = resolve(__dirname, '..');
const SERVICES = ['enrollment', 'bootstrap', 'telemetry-ingest', 'ota-distributor', 'privacy'];
const MARKER = 'Zq7marker9Secret';

/**
 * Variables whose value is printed in clear at start-up: reviewed, none holds a credential. A new
 * variable is either masked (its name says SECRET, PASSWORD, TOKEN, _KEY…) or added here on purpose.
 */
const SHOWN_IN_CLEAR = new Set([
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'SHUTDOWN_TIMEOUT_MS',
  'KAFKA_BROKERS',
  'KAFKA_CLIENT_ID',
  'KAFKA_REPLICATION_FACTOR',
  'KAFKA_ENSURE_TOPICS',
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD_FILE',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'REDIS_URL',
  'REDIS_USERNAME',
  'REDIS_PASSWORD_FILE',
  'REDIS_TLS_CA_FILE',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_FORCE_PATH_STYLE',
  'OTEL_TRACES_EXPORTER',
  'OTEL_METRICS_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'ENROLLMENT_INTERNAL_URL',
  'BOOTSTRAP_INTERNAL_URL',
  'PRIVACY_INTERNAL_URL',
  'BOOTSTRAP_TLS_PORT',
  'BOOTSTRAP_TLS_HOSTNAMES',
  'BOOTSTRAP_TLS_CERT_FILE',
  'BOOTSTRAP_TLS_KEY_FILE',
  'BOOTSTRAP_CERT_VALIDITY',
  'BOOTSTRAP_TELEMETRY_URI',
  'BOOTSTRAP_OTA_URI',
  'BOOTSTRAP_PUBLIC_URI',
  'BOOTSTRAP_RATE_LIMIT_PER_METER',
  'BOOTSTRAP_RATE_LIMIT_PER_SOURCE',
  'BOOTSTRAP_NOT_KNOWN_RETRY_AFTER_S',
  'TELEMETRY_TLS_PORT',
  'TELEMETRY_TLS_HOSTNAMES',
  'TELEMETRY_TLS_CERT_FILE',
  'TELEMETRY_TLS_KEY_FILE',
  'TELEMETRY_INSTANCE_ID',
  'TELEMETRY_WORKERS',
  'TELEMETRY_MAX_IN_FLIGHT_READINGS',
  'TELEMETRY_MAX_IN_FLIGHT_BYTES',
  'TELEMETRY_DEDUPE_WINDOW_MS',
  'TELEMETRY_MAX_CLOCK_SKEW_MS',
  'TELEMETRY_TRANSACTION_TIMEOUT_MS',
  'TELEMETRY_LOCK_TTL_MS',
  'TELEMETRY_KEY_CACHE_TTL_S',
  'TELEMETRY_KEY_CACHE_MAX',
  // Paths to identity files (never their contents), ports, host names, caller grants, limits.
  'SERVICE_TLS_CERT_FILE',
  'SERVICE_TLS_KEY_FILE',
  'PLATFORM_CA_FILE',
  'INTERNAL_PORT',
  'BOOTSTRAP_SERVER_CERT_HOSTNAMES',
  'BOOTSTRAP_REBOOTSTRAP_PER_HOUR',
  'PRIVACY_DATA_KEY_GRANTS',
  // How long backups are kept, in days (the PRIVACY_KEK_* settings are masked by their name).
  'PRIVACY_BACKUP_RETENTION_DAYS',
  'PRIVACY_RELEASE_INTERVAL_MS',
  'PRIVACY_RELEASE_GRACE_S',
  'PRIVACY_RELEASE_LOOKBACK_DAYS',
  'PRIVACY_NETWORK_MIN_METERS',
  'PRIVACY_NETWORK_MAX_SHARE',
  'PRIVACY_CERTIFICATE_KEY_FILE',
  'ENROLLMENT_DECOMMISSION_KEY_FILE',
  'ENROLLMENT_DECOMMISSION_RETRY_MS',
  'PRIVACY_ERASURE_CONFIRMERS',
  'PRIVACY_ERASURE_RETRY_MS',
  'PRIVACY_INGEST_KEY_CACHE_TTL_S',
  'PRIVACY_RETENTION_CHECK_INTERVAL_S',
  'PRIVACY_MAX_BACKDATE_DAYS',
  'PRIVACY_RESEAL_INTERVAL_MS',
  // Exports: the archive bucket's name, the link's life and the job's pace (the archive key is on the row).
  'PRIVACY_EXPORT_BUCKET',
  'PRIVACY_EXPORT_LINK_TTL_S',
  'PRIVACY_EXPORT_INTERVAL_MS',
  'DEVICE_PROXY_PROTOCOL',
  'DEVICE_TRUSTED_PROXIES',
  'DEVICE_MAX_CONNECTIONS_PER_SOURCE',
  'TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SENDER',
  'TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SOURCE',
  'TELEMETRY_BODY_TIMEOUT_MS',
  'TELEMETRY_MAX_OBIS_PER_METER',
  // The firmware bucket's name, the ticker's and the start's timings, the image size cap, upload URL life
  // and part size: no credential.
  'OTA_FIRMWARE_BUCKET',
  'OTA_CAMPAIGN_TICK_MS',
  'OTA_START_WAIT_MS',
  // Test-only pause points' names, and the runtime mode that refuses them: no credential.
  'OTA_TEST_PAUSE_AT',
  'NODE_ENV',
  'OTA_MAX_IMAGE_BYTES',
  'OTA_UPLOAD_URL_EXPIRY_SECONDS',
  'OTA_UPLOAD_PART_BYTES',
  // The distributor's device listener (port, host names, paths to its certificate files, replica name)
  // and the path of the directive public keys bootstrap hands out: no credential.
  'OTA_TLS_PORT',
  'OTA_TLS_HOSTNAMES',
  'OTA_TLS_CERT_FILE',
  'OTA_TLS_KEY_FILE',
  'OTA_INSTANCE_ID',
  'OTA_DIRECTIVE_PUBLIC_KEYS_FILE',
  // The directive key's file path (never its content), directive life, poll interval, download URL life.
  'OTA_DIRECTIVE_KEY_FILE',
  'OTA_DIRECTIVE_TTL_SECONDS',
  'OTA_POLL_SECONDS',
  'OTA_DOWNLOAD_URL_TTL_SECONDS',
  'OTA_DOWNLOAD_URL_REISSUE_SECONDS',
  // How many meters' check-in views a replica keeps in memory: a count.
  'OTA_CHECK_IN_CACHE_ENTRIES',
]);

/** Values that carry the marker where a credential sits in a URL. */
const URL_CREDENTIALS = [
  `redis://:${MARKER}@cache:6379/0`,
  `redis://svc:${MARKER}@cache:6379/0`,
  `rediss://svc:p@ss:${MARKER}@cache:6380`,
  `postgres://svc:${MARKER}@db:5432/meterkeep?sslmode=require`,
  `redis://cache:6379/0?password=${MARKER}`,
  `https://host/x?a=1&token=${MARKER}`,
  `https://s3/bucket/obj?X-Amz-Credential=${MARKER}&X-Amz-Signature=${MARKER}`,
  `https://api/x?api_key=${MARKER}&secret=${MARKER}`,
  `a.example,https://u:${MARKER}@b.example`,
];

async function schemaOf(name: string): Promise<z.ZodObject> {
  const module = (await import(join(root, 'apps', name, 'src', 'config.ts'))) as Record<string, unknown>;
  const exported = `${name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}Config`;
  return module[exported] as z.ZodObject;
}

/** The start-up line as runMain writes it, as the JSON text that would reach the log. */
function startUpLog(names: string[], env: Record<string, string>): string {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'redaction',
    level: 'info',
    destination: { write: (l) => lines.push(l) },
  });
  logger.info({ environment: describeEnvironment(names, env) }, 'configuration loaded');
  return lines.join('');
}

describe.each(SERVICES)('%s: configuration in the logs', (service) => {
  it('shows no credential inside a URL, whichever variable holds it', async () => {
    const names = Object.keys((await schemaOf(service)).shape);
    for (const value of URL_CREDENTIALS) {
      const log = startUpLog(names, Object.fromEntries(names.map((name) => [name, value])));
      expect(log, value).not.toContain(MARKER);
      expect(log).toContain('********');
    }
  });

  it('masks the whole value of every variable not reviewed as harmless', async () => {
    const names = Object.keys((await schemaOf(service)).shape);
    const log = startUpLog(
      names,
      Object.fromEntries(names.map((name) => [name, SHOWN_IN_CLEAR.has(name) ? 'clear' : MARKER])),
    );
    expect(log).not.toContain(MARKER);
    // The reviewed ones really are printed, so the list is not wider than it needs to be.
    const shown = names.filter((name) => SHOWN_IN_CLEAR.has(name));
    for (const name of shown) expect(log).toContain(`"${name}":"clear"`);
  });

  it('names no credential in an invalid-configuration message', async () => {
    const schema = await schemaOf(service);
    const names = Object.keys(schema.shape);
    for (const value of [MARKER, ...URL_CREDENTIALS]) {
      try {
        loadConfig(schema, Object.fromEntries(names.map((name) => [name, value])));
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).not.toContain(MARKER);
      }
    }
  });
});
