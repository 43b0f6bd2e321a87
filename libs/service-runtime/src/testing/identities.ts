// Test-only: platform CAs and service identities in memory and on disk, minted with libs/pki as the
// local stack mints them (libs/local-stack platform-pki.ts), for specs of the runtime and of the services' internal clients.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CertificateAuthority,
  createIssuer,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
} from '@meterkeep/pki';
import type { ServiceIdentity, ServiceIdentityConfig } from '../internal-listener/service-identity';

const DAY = 86_400_000;

export function testCa(commonName = 'Test platform CA'): CertificateAuthority {
  return createRootCa({
    subject: { commonName },
    validity: { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 2 * DAY) },
  });
}

export function testIdentity(ca: CertificateAuthority, name: string): ServiceIdentity {
  const { privateKey, publicKey } = generateKeyPair();
  const certificate = createIssuer(ca).issue({
    profile: 'service',
    subject: { commonName: name },
    subjectPublicKey: publicKey,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
  });
  return {
    name,
    certificatePem: certificate.pem,
    keyPem: exportPrivateKey(privateKey) as string,
    platformCaPem: ca.certificate.pem,
  };
}

/** An identity written to files, as a service's config names them. */
export function testIdentityFiles(identity: ServiceIdentity): ServiceIdentityConfig {
  const dir = mkdtempSync(join(tmpdir(), 'mk-identity-'));
  const files = {
    SERVICE_TLS_CERT_FILE: join(dir, 'cert.pem'),
    SERVICE_TLS_KEY_FILE: join(dir, 'key.pem'),
    PLATFORM_CA_FILE: join(dir, 'ca.pem'),
  };
  writeFileSync(files.SERVICE_TLS_CERT_FILE, identity.certificatePem);
  writeFileSync(files.SERVICE_TLS_KEY_FILE, identity.keyPem, { mode: 0o600 });
  writeFileSync(files.PLATFORM_CA_FILE, identity.platformCaPem);
  return files;
}

/** HTTPS server options for a stand-in of a service's internal listener (tests of its clients). */
export function testListenerOptions(identity: ServiceIdentity) {
  return {
    key: identity.keyPem,
    cert: identity.certificatePem,
    ca: identity.platformCaPem,
    requestCert: true,
    rejectUnauthorized: true,
  };
}
