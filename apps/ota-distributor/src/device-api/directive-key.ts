import { type KeyObject, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The distributor's directive signing key and the settings of the device API (OTA_* config). */
export const DEVICE_API_SETTINGS = Symbol('ota-distributor:device-api-settings');

export interface DeviceApiSettings {
  /** The directive key: P-256, private. Never logged, never on a topic. */
  directiveKey: KeyObject;
  directiveTtlSeconds: number;
  pollSeconds: number;
  downloadUrlTtlSeconds: number;
  downloadUrlReissueSeconds: number;
}

/**
 * Reads and checks the directive key at start-up: a PKCS#8 PEM holding a P-256 private key, or the
 * service does not start. The message names the variable, never the file's content.
 */
export function loadDirectiveKey(file: string, variable = 'OTA_DIRECTIVE_KEY_FILE'): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${variable}: the directive key file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!/-----BEGIN PRIVATE KEY-----/.test(pem)) {
    throw new Error(`${variable}: not a PKCS#8 PEM private key (expected "BEGIN PRIVATE KEY")`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error(`${variable}: the PKCS#8 PEM does not parse as a private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${variable}: the directive key must be an EC P-256 private key`);
  }
  return key;
}
