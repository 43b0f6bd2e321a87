import { describe, expect, it } from 'vitest';
import { OTA_DISTRIBUTOR_ENVIRONMENT, OtaDistributorConfig } from './config';

describe('ota-distributor configuration', () => {
  it('dist.keys.no-private-update-key-in-service: no setting takes an update authority or manifest signing key', () => {
    // Manifests are signed offline (apps/firmware-signer); the only signing key the service holds is
    // the online directive key. A new key setting must be reviewed here.
    const secrets = OTA_DISTRIBUTOR_ENVIRONMENT.filter((name) => /KEY|SECRET|SIGN|AUTHORITY/.test(name));
    expect(secrets.sort()).toEqual([
      'KAFKA_SSL_KEY_FILE',
      'OTA_DIRECTIVE_KEY_FILE',
      'OTA_TLS_KEY_FILE',
      'S3_ACCESS_KEY_ID',
      'S3_SECRET_ACCESS_KEY',
      'SERVICE_TLS_KEY_FILE',
    ]);
  });

  it('OTA_TEST_PAUSE_AT (test-only crash points) is refused under NODE_ENV=production and names known points only', () => {
    const env = {
      DATABASE_URL: 'postgres://ota@127.0.0.1/ota',
      KAFKA_BROKERS: '127.0.0.1:9092',
      OTA_DIRECTIVE_KEY_FILE: '/run/secrets/directive.key.pem',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      SERVICE_TLS_CERT_FILE: '/run/secrets/tls.crt',
      SERVICE_TLS_KEY_FILE: '/run/secrets/tls.key',
      PLATFORM_CA_FILE: '/run/secrets/ca.crt',
    };
    const issues = (extra: Record<string, string>) =>
      OtaDistributorConfig.safeParse({ ...env, ...extra }).error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(issues({})).toEqual([]);
    expect(
      OtaDistributorConfig.parse({ ...env, OTA_TEST_PAUSE_AT: 'phase-advance,halt' }).OTA_TEST_PAUSE_AT,
    ).toEqual(['phase-advance', 'halt']);
    expect(issues({ OTA_TEST_PAUSE_AT: 'halt', NODE_ENV: 'production' })).toEqual(['OTA_TEST_PAUSE_AT']);
    expect(issues({ NODE_ENV: 'production' })).toEqual([]);
    expect(issues({ OTA_TEST_PAUSE_AT: 'somewhere' })).toEqual(['OTA_TEST_PAUSE_AT.0']);
  });
});
