import {
  type CertificateAuthority,
  createIntermediateCa,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  publicKeyToPem,
  spkiOf,
} from '@meterkeep/pki';
import { type FactoryBundle, BUNDLE_FORMAT, addYears } from '../src/index.js';

export const T0 = new Date('2026-01-01T00:00:00Z');
export const AT = new Date('2026-03-01T00:00:00Z');

export interface Manufacturer {
  readonly root: CertificateAuthority;
  readonly intermediate: CertificateAuthority;
  readonly bootstrapCa: CertificateAuthority;
  readonly updateKeyPem: string;
}

export function manufacturer(name = 'Acme Meters'): Manufacturer {
  const root = createRootCa({
    subject: { organization: name, commonName: `${name} Root` },
    validity: { notBefore: T0, notAfter: addYears(T0, 40) },
    pathLen: 1,
  });
  const intermediate = createIntermediateCa(root, {
    subject: { organization: name, commonName: `${name} Factory CA` },
    validity: { notBefore: T0, notAfter: addYears(T0, 30) },
    pathLen: 0,
  });
  const bootstrapCa = createRootCa({
    subject: { commonName: 'Utility Bootstrap CA' },
    validity: { notBefore: T0, notAfter: addYears(T0, 20) },
  });
  const updateKeyPem = publicKeyToPem(spkiOf(generateKeyPair().publicKey));
  return { root, intermediate, bootstrapCa, updateKeyPem };
}

/** A bundle that passes every check, with its parts overridable. */
export function validBundle(
  m: Manufacturer,
  options: { endpointName?: string; serial?: string; lifeYears?: number; certYears?: number } = {},
): FactoryBundle {
  const endpointName = options.endpointName ?? 'EM300-000001';
  const serial = options.serial ?? '4a1b2c3d4e5f60710000000000000001';
  const key = generateKeyPair();
  const certificate = issueCertificate({
    issuer: m.intermediate,
    profile: 'factory-device',
    subject: { organization: 'Acme Meters', commonName: endpointName },
    subjectPublicKey: key.publicKey,
    serial: Buffer.from(serial, 'hex'),
    notBefore: T0,
    notAfter: addYears(T0, options.certYears ?? 16),
  });
  return {
    format: BUNDLE_FORMAT,
    endpointName,
    batchId: '20260101-4a1b2c3d',
    model: 'EM300',
    serialNumber: serial,
    credential: {
      kind: 'certificate',
      keyLocation: 'bundle',
      privateKeyPem: exportPrivateKey(key.privateKey, 'pem') as string,
      certificatePem: certificate.pem,
      chainPem: [m.intermediate.certificate.pem, m.root.certificate.pem],
    },
    bootstrap: {
      serverUri: 'https://bootstrap.utility.example:8443/bs',
      trustAnchorPem: m.bootstrapCa.certificate.pem,
    },
    vendorId: 'acme',
    classId: 'em300-v2',
    updateAuthorityPublicKeyPem: m.updateKeyPem,
    customParameters: { tariff: 'dual-rate', region: 'north' },
    expectedLifeYears: options.lifeYears ?? 15,
    issuedAt: T0.toISOString(),
  };
}
