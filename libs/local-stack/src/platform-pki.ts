import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type CertificateAuthority,
  createIssuer,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  parseCertificate,
} from '@meterkeep/pki';
import { findWorkspaceRoot } from './workspace-root';

/** PEM texts of a service identity, before they are files. */
export interface ServiceIdentityPems {
  certificatePem: string;
  keyPem: string;
}

/** A service identity's files, as SERVICE_TLS_CERT_FILE, SERVICE_TLS_KEY_FILE and PLATFORM_CA_FILE. */
export interface ServiceIdentityFiles {
  SERVICE_TLS_CERT_FILE: string;
  SERVICE_TLS_KEY_FILE: string;
  PLATFORM_CA_FILE: string;
}

const YEAR_MS = 365 * 86_400_000;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** A fresh platform CA (P-256 root), in memory: what tests that need a foreign CA start from. */
export function mintPlatformCa(commonName = 'Meterkeep platform CA (local)'): CertificateAuthority {
  const now = Date.now();
  return createRootCa({
    subject: { commonName },
    validity: { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 10 * YEAR_MS) },
    pathLen: 0,
  });
}

/**
 * A service's certificate from the platform CA: CN = the service name (how peers authorise it), EKU
 * serverAuth and clientAuth (it serves its internal listener and calls the others), and SANs for
 * this machine (localhost, 127.0.0.1) and the cluster (the service's DNS name).
 */
export function mintServiceIdentity(ca: CertificateAuthority, name: string): ServiceIdentityPems {
  if (!SERVICE_NAME.test(name)) throw new Error(`"${name}" is not a service name`);
  const { privateKey, publicKey } = generateKeyPair();
  const now = Date.now();
  const certificate = createIssuer(ca).issue({
    profile: 'service',
    subject: { commonName: name },
    subjectPublicKey: publicKey,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + YEAR_MS),
    sans: { dns: ['localhost', name], ip: ['127.0.0.1'] },
  });
  return { certificatePem: certificate.pem, keyPem: exportPrivateKey(privateKey) as string };
}

const pkiDir = () => resolve(findWorkspaceRoot(), '.local-stack', 'pki');

/** Writes a file owner-only, atomically (another process may be minting the same one). */
function writePrivate(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, file);
}

/**
 * The local platform CA, minted once and kept under .local-stack/pki (git-ignored; key 0600): the
 * CA of every local service identity. Its certificate file is PLATFORM_CA_FILE.
 */
export function platformCa(): { caFile: string; ca: CertificateAuthority } {
  const dir = pkiDir();
  const caFile = join(dir, 'platform-ca.pem');
  const keyFile = join(dir, 'platform-ca.key');
  if (!existsSync(caFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = mintPlatformCa();
    writePrivate(keyFile, exportPrivateKey(ca.privateKey) as string);
    writeFileSync(caFile, ca.certificate.pem);
    chmodSync(caFile, 0o644);
  }
  return {
    caFile,
    ca: {
      certificate: parseCertificate(readFileSync(caFile, 'utf8')),
      privateKey: createPrivateKey(readFileSync(keyFile, 'utf8')),
    },
  };
}

/**
 * A service's identity on the local stack, as the environment variables its config reads: minted
 * from the platform CA on first use and kept beside it. The one place the e2e launcher, the demo and
 * the integration kits get identities from.
 */
export function serviceIdentity(name: string): ServiceIdentityFiles {
  const { caFile, ca } = platformCa();
  const certFile = join(pkiDir(), `${name}.pem`);
  const keyFile = join(pkiDir(), `${name}.key`);
  if (!existsSync(certFile) || !existsSync(keyFile) || !issuedBy(certFile, caFile)) {
    const minted = mintServiceIdentity(ca, name);
    writePrivate(keyFile, minted.keyPem);
    writePrivate(certFile, minted.certificatePem);
  }
  return { SERVICE_TLS_CERT_FILE: certFile, SERVICE_TLS_KEY_FILE: keyFile, PLATFORM_CA_FILE: caFile };
}

/** Whether a kept certificate still comes from the kept CA and is valid for a day more. */
function issuedBy(certFile: string, caFile: string): boolean {
  try {
    const certificate = new X509Certificate(readFileSync(certFile, 'utf8'));
    const ca = new X509Certificate(readFileSync(caFile, 'utf8'));
    return (
      certificate.verify(ca.publicKey) && new Date(certificate.validTo).getTime() > Date.now() + 86_400_000
    );
  } catch {
    return false;
  }
}
