import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CertificateAuthority,
  createIssuer,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  importPrivateKey,
  parseCertificate,
} from '@meterkeep/pki';

const DAY_MS = 86_400_000;
/** A certificate with less left than this is replaced on the next start. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

export interface KafkaTlsFiles {
  /** The stack CA's certificate: what clients trust (in the credentials dir). */
  caFile: string;
  /** The broker's PKCS#8 key and certificate chain, one PEM file (ssl.keystore.type=PEM). */
  keystoreFile: string;
}

function stillValid(pemFile: string): boolean {
  if (!existsSync(pemFile)) return false;
  const certificate = new X509Certificate(readFileSync(pemFile));
  return new Date(certificate.validTo).getTime() - Date.now() > RENEW_BEFORE_MS;
}

/**
 * The broker's TLS identity on the local stack: a small CA of the stack's own (kept in `tlsDir`,
 * owner-only) signing a server certificate for 127.0.0.1 and localhost. Made once, renewed when near
 * its end. Kept separate from the platform CA on purpose: one file to repoint when both are merged.
 */
export function ensureKafkaTls(tlsDir: string, caFile: string): KafkaTlsFiles {
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const caKeyFile = join(tlsDir, 'ca.key');
  const keystoreFile = join(tlsDir, 'broker-keystore.pem');
  let ca: CertificateAuthority;
  if (stillValid(caFile) && existsSync(caKeyFile)) {
    ca = {
      certificate: parseCertificate(readFileSync(caFile, 'utf8')),
      privateKey: importPrivateKey(readFileSync(caKeyFile, 'utf8')),
    };
  } else {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    ca = createRootCa({
      subject: { organization: 'Meterkeep local stack', commonName: 'Meterkeep local stack Kafka CA' },
      validity: { notBefore, notAfter: new Date(notBefore.getTime() + 5 * 365 * DAY_MS) },
      pathLen: 0,
    });
    writeFileSync(caKeyFile, exportPrivateKey(ca.privateKey), { mode: 0o600 });
    writeFileSync(caFile, ca.certificate.pem, { mode: 0o644 });
  }
  if (!stillValid(join(tlsDir, 'broker.pem')) || !existsSync(keystoreFile)) {
    const { privateKey, publicKey } = generateKeyPair();
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const certificate = createIssuer(ca).issue({
      profile: 'server',
      subject: { organization: 'Meterkeep local stack', commonName: 'localhost' },
      sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
      subjectPublicKey: publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 2 * 365 * DAY_MS),
    });
    writeFileSync(join(tlsDir, 'broker.pem'), certificate.pem, { mode: 0o644 });
    // Kafka's PEM keystore: an unencrypted PKCS#8 key, then the chain (leaf, CA).
    writeFileSync(
      keystoreFile,
      `${String(exportPrivateKey(privateKey))}${certificate.pem}${ca.certificate.pem}`,
      {
        mode: 0o600,
      },
    );
  }
  return { caFile, keystoreFile };
}
