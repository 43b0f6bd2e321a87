import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, BundleChecker, type FactoryBundle } from '@meterkeep/factory-bundle';
import {
  createIntermediateCa,
  createRootCa,
  createIssuer,
  generateKeyPair,
  exportPrivateKey,
  issueCertificate,
} from '@meterkeep/pki';
import { FactoryPort, FactoryPortError } from './factory-port';
import { MeterStorage } from './meter-storage';

// A manufacturer CA and one valid bundle, built with the real PKI: the checks are what is under test.
let rootPem: string;
let otherRootPem: string;
let valid: FactoryBundle;

beforeAll(() => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const until = new Date(now.getTime() + 30 * 365 * 24 * 3600 * 1000);
  const validity = { notBefore: now, notAfter: until };
  const root = createRootCa({ subject: { commonName: 'Acme Meters Root' }, validity });
  const intermediate = createIntermediateCa(root, {
    subject: { commonName: 'Acme Meters Line 1' },
    validity,
    pathLen: 0,
  });
  const other = createRootCa({ subject: { commonName: 'Someone Else' }, validity });
  rootPem = root.certificate.pem;
  otherRootPem = other.certificate.pem;
  const keys = generateKeyPair();
  const certificate = issueCertificate({
    issuer: createIssuer(intermediate),
    subjectPublicKey: keys.publicKey,
    subject: { commonName: 'MTR-000001' },
    profile: 'factory-device',
    serial: Buffer.from('0102030405060708', 'hex'),
    notBefore: now,
    notAfter: new Date(now.getTime() + 20 * 365 * 24 * 3600 * 1000),
  });
  valid = {
    format: BUNDLE_FORMAT,
    endpointName: 'MTR-000001',
    batchId: 'batch-1',
    model: 'EM-300',
    serialNumber: '0102030405060708',
    credential: {
      kind: 'certificate',
      keyLocation: 'bundle',
      privateKeyPem: exportPrivateKey(keys.privateKey) as string,
      certificatePem: certificate.pem,
      chainPem: [intermediate.certificate.pem, root.certificate.pem],
    },
    bootstrap: { serverUri: 'https://bootstrap.example.net', trustAnchorPem: root.certificate.pem },
    vendorId: 'acme',
    classId: 'em-300',
    updateAuthorityPublicKeyPem: generateKeyPair().publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string,
    customParameters: { region: 'north' },
    expectedLifeYears: 15,
    issuedAt: now.toISOString(),
  };
});

const meter = (root = rootPem) =>
  new FactoryPort(
    new MeterStorage(mkdtempSync(join(tmpdir(), 'meter-'))),
    new BundleChecker({ manufacturerRootPem: root, at: new Date() }),
  );

describe('a meter’s factory path', () => {
  it('loads a valid bundle, finalises, and then refuses every factory write, across a restart', () => {
    const storage = new MeterStorage(mkdtempSync(join(tmpdir(), 'meter-')));
    const checker = new BundleChecker({ manufacturerRootPem: rootPem, at: new Date() });
    const port = new FactoryPort(storage, checker);
    expect(port.load(JSON.stringify(valid)).endpointName).toBe('MTR-000001');
    port.finalize();

    const rebooted = new FactoryPort(new MeterStorage(storage.dir), checker);
    expect(rebooted.finalized).toBe(true);
    expect(() => rebooted.load(JSON.stringify({ ...valid, endpointName: 'MTR-000002' }))).toThrow(
      expect.objectContaining({ code: 'FACTORY_LOCKED' }),
    );
    expect(rebooted.bundle().endpointName).toBe('MTR-000001');
    expect(readFileSync(join(storage.dir, 'factory-bundle.json'), 'utf8')).toContain('MTR-000001');
  });

  it('refuses a bundle that does not chain to the manufacturer root built into the meter', () => {
    expect(() => meter(otherRootPem).load(JSON.stringify(valid))).toThrow(/CHAIN_INVALID/);
  });

  it('refuses a truncated bundle', () => {
    const text = JSON.stringify(valid);
    expect(() => meter().load(text.slice(0, text.length / 2))).toThrow(/BUNDLE_UNREADABLE/);
  });

  it('refuses a bundle whose key is not the certificate’s', () => {
    const otherKey = exportPrivateKey(generateKeyPair().privateKey) as string;
    const swapped = { ...valid, credential: { ...valid.credential, privateKeyPem: otherKey } };
    try {
      meter().load(JSON.stringify(swapped));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FactoryPortError);
      expect((error as FactoryPortError).failures.map((f) => f.code)).toContain('KEY_MISMATCH');
    }
  });

  it('cannot be finalised without a bundle', () => {
    expect(() => meter().finalize()).toThrow(expect.objectContaining({ code: 'NOT_PROVISIONED' }));
  });
});
