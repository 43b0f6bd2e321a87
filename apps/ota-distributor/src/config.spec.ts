import { describe, expect, it } from 'vitest';
import { OTA_DISTRIBUTOR_ENVIRONMENT } from './config';

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
});
