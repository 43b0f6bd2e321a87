import { type KeyObject, verify } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Certificate,
  type CertificateAuthority,
  createIssuer,
  isPkiError,
  parseCertificate,
} from '@meterkeep/pki';
import { FactoryError, errorMessage } from '../factory.errors';
import { decryptPrivateKey, encryptPrivateKey } from './encrypted-key';

export const PASSPHRASE_ENV = 'METERKEEP_CA_PASSPHRASE';
export const MIN_PASSPHRASE_LENGTH = 12;

export const CA_FILES = {
  rootCertificate: 'root.pem',
  /** Kept offline once `ca init` has run: only a new intermediate needs it. */
  rootKey: 'root.key.pem',
  intermediateCertificate: 'intermediate.pem',
  intermediateKey: 'intermediate.key.pem',
} as const;

/** The passphrase the CA keys are encrypted under, from the environment only; never echoed. */
export function passphraseFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const passphrase = env[PASSPHRASE_ENV];
  if (passphrase === undefined || passphrase === '') {
    throw new FactoryError(
      'PASSPHRASE_MISSING',
      `${PASSPHRASE_ENV} is not set: the CA keys are encrypted under it`,
    );
  }
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new FactoryError(
      'PASSPHRASE_MISSING',
      `${PASSPHRASE_ENV} is too short: at least ${MIN_PASSPHRASE_LENGTH} characters are required`,
    );
  }
  return passphrase;
}

export interface CaCertificates {
  readonly root: Certificate;
  readonly intermediate: Certificate;
}

/** The intermediate that signs meters' certificates, its key decrypted, and the root above it. */
export interface IssuingCa extends CaCertificates {
  readonly privateKey: KeyObject;
}

async function readText(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FactoryError(
      'CA_INVALID',
      code === 'ENOENT' ? `${path} not found (run ca init?)` : `${path}: ${errorMessage(error)}`,
    );
  }
}

function certificateIn(text: string, path: string): Certificate {
  try {
    return parseCertificate(text);
  } catch (error) {
    throw new FactoryError('CA_INVALID', `${path}: ${errorMessage(error)}`);
  }
}

/** Reads root.pem and intermediate.pem and checks that the root signed the intermediate. */
export async function loadCaCertificates(dir: string): Promise<CaCertificates> {
  const root = certificateIn(
    await readText(dir, CA_FILES.rootCertificate),
    join(dir, CA_FILES.rootCertificate),
  );
  const intermediate = certificateIn(
    await readText(dir, CA_FILES.intermediateCertificate),
    join(dir, CA_FILES.intermediateCertificate),
  );
  assertIssuedBy(intermediate, root);
  return { root, intermediate };
}

/** The intermediate is a CA certificate signed by the root's key under the root's name. */
export function assertIssuedBy(intermediate: Certificate, root: Certificate): void {
  const signed =
    intermediate.issuer.equals(root.subject) &&
    verify(
      'sha256',
      intermediate.tbsDer,
      { key: root.publicKey, dsaEncoding: 'der' },
      intermediate.signature,
    );
  if (!signed) {
    throw new FactoryError(
      'CA_INVALID',
      `${intermediate.subject.toString()} is not signed by ${root.subject.toString()}`,
    );
  }
  if (!intermediate.isCa)
    throw new FactoryError('CA_INVALID', `${intermediate.subject.toString()} is not a CA`);
}

/** What `batch create` and `batch sign-csrs` need: never the root key. */
export async function loadIssuingCa(dir: string, passphrase: string): Promise<IssuingCa> {
  const { root, intermediate } = await loadCaCertificates(dir);
  const keyPath = join(dir, CA_FILES.intermediateKey);
  const privateKey = decryptPrivateKey(await readText(dir, CA_FILES.intermediateKey), passphrase, keyPath);
  try {
    createIssuer({ certificate: intermediate, privateKey });
  } catch (error) {
    if (!isPkiError(error)) throw error;
    throw new FactoryError('CA_INVALID', `${keyPath}: ${error.message}`);
  }
  return { root, intermediate, privateKey };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Writes a new CA; refuses to overwrite any part of an existing one. Keys are 0600, the directory 0700. */
export async function writeCa(
  dir: string,
  ca: { root: CertificateAuthority; intermediate: CertificateAuthority },
  passphrase: string,
): Promise<Record<keyof typeof CA_FILES, string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const name of Object.values(CA_FILES)) {
    if (await exists(join(dir, name))) {
      throw new FactoryError('CA_EXISTS', `${join(dir, name)} exists: ca init never overwrites a CA`);
    }
  }
  const files = {
    rootCertificate: ca.root.certificate.pem,
    rootKey: encryptPrivateKey(ca.root.privateKey, passphrase),
    intermediateCertificate: ca.intermediate.certificate.pem,
    intermediateKey: encryptPrivateKey(ca.intermediate.privateKey, passphrase),
  };
  const paths = {} as Record<keyof typeof CA_FILES, string>;
  for (const [part, content] of Object.entries(files) as [keyof typeof CA_FILES, string][]) {
    const path = join(dir, CA_FILES[part]);
    await writeFile(path, content, { flag: 'wx', mode: part.endsWith('Key') ? 0o600 : 0o644 });
    paths[part] = path;
  }
  return paths;
}

/** The intermediate's key as unencrypted PKCS#8 DER, for worker threads to import (see WorkerInit). */
export function caKeyDer(ca: IssuingCa): Buffer {
  return ca.privateKey.export({ type: 'pkcs8', format: 'der' });
}
