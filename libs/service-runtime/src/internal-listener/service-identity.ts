import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { INTERNAL_CALLER_NAME } from '@meterkeep/contracts';

/**
 * This service's identity between services: its certificate from the platform CA (the CN names the
 * service), its key, and the platform CA it trusts peers by. Read once from files at start-up.
 */
export interface ServiceIdentity {
  /** The service the certificate names (its CN), as peers authorise it. */
  readonly name: string;
  readonly certificatePem: string;
  readonly keyPem: string;
  readonly platformCaPem: string;
}

/** Where the identity comes from: SERVICE_TLS_CERT_FILE, SERVICE_TLS_KEY_FILE, PLATFORM_CA_FILE. */
export interface ServiceIdentityConfig {
  SERVICE_TLS_CERT_FILE: string;
  SERVICE_TLS_KEY_FILE: string;
  PLATFORM_CA_FILE: string;
}

/** The CN of a certificate's subject, when it has exactly one. */
export function commonNameOf(certificate: X509Certificate): string | undefined {
  const names = certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  return names.length === 1 ? names[0] : undefined;
}

/** Reads and checks the identity files: the certificate names a service, is signed by the CA, matches the key. */
export function loadServiceIdentity(config: ServiceIdentityConfig): ServiceIdentity {
  const read = (variable: keyof ServiceIdentityConfig) => {
    try {
      return readFileSync(config[variable], 'utf8');
    } catch (error) {
      throw new Error(`${variable}: cannot read ${config[variable]} (${(error as Error).message})`);
    }
  };
  const certificatePem = read('SERVICE_TLS_CERT_FILE');
  const keyPem = read('SERVICE_TLS_KEY_FILE');
  const platformCaPem = read('PLATFORM_CA_FILE');
  const certificate = new X509Certificate(certificatePem);
  const name = commonNameOf(certificate);
  if (name === undefined || !INTERNAL_CALLER_NAME.test(name))
    throw new Error('SERVICE_TLS_CERT_FILE: the certificate must have one CN naming the service');
  // One CA, or two while the platform moves to a new one: the certificate comes from either.
  const cas = platformCaPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (cas.length === 0) throw new Error('PLATFORM_CA_FILE: no certificate in it');
  if (!cas.some((ca) => certificate.verify(new X509Certificate(ca).publicKey)))
    throw new Error('SERVICE_TLS_CERT_FILE: the certificate is not signed by a PLATFORM_CA_FILE CA');
  if (!certificate.checkPrivateKey(createPrivateKey(keyPem)))
    throw new Error('SERVICE_TLS_KEY_FILE: the key does not match SERVICE_TLS_CERT_FILE');
  return { name, certificatePem, keyPem, platformCaPem };
}
