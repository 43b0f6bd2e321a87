import { type FactoryBundle, parseBundle } from '@meterkeep/factory-bundle';
import { describe, expect, it } from 'vitest';
import type { BatchFile } from './batch-file';
import {
  BundleLineWriter,
  bundledKeyCredentialJson,
  deviceKeyCredentialJson,
  pskCredentialJson,
} from './bundle-line';

const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
const batch = {
  batchId: '20260101-4a1b2c3d',
  model: 'EM300',
  config: {
    bootstrapUri: 'https://bootstrap.utility.example/bs',
    bootstrapTrustAnchorPem: pem('CERTIFICATE'),
    updateAuthorityPublicKeyPem: pem('PUBLIC KEY'),
    vendorId: 'acme',
    classId: 'em300',
    customParameters: { tariff: 'dual "rate"', note: 'ünïcode\\' },
    expectedLifeYears: 15,
  },
} as unknown as BatchFile;

describe('BundleLineWriter', () => {
  const issuedAt = new Date('2026-01-01T00:00:00Z');
  const writer = new BundleLineWriter(batch, issuedAt);
  const expected = (credential: FactoryBundle['credential']): FactoryBundle => ({
    format: 'meterkeep.factory-bundle/1',
    endpointName: 'EM300-000001',
    batchId: batch.batchId,
    model: batch.model,
    serialNumber: '4a1b2c3d4e5f60710000000000000000',
    credential,
    bootstrap: { serverUri: batch.config.bootstrapUri, trustAnchorPem: batch.config.bootstrapTrustAnchorPem },
    vendorId: 'acme',
    classId: 'em300',
    updateAuthorityPublicKeyPem: batch.config.updateAuthorityPublicKeyPem,
    customParameters: batch.config.customParameters,
    expectedLifeYears: 15,
    issuedAt: issuedAt.toISOString(),
  });
  const chain = JSON.stringify([pem('CERTIFICATE'), pem('CERTIFICATE')]);

  it('writes exactly what JSON.stringify writes for the bundle, as one line', () => {
    const credentials: [string, FactoryBundle['credential']][] = [
      [
        bundledKeyCredentialJson(pem('PRIVATE KEY'), pem('CERTIFICATE'), chain),
        {
          kind: 'certificate',
          keyLocation: 'bundle',
          privateKeyPem: pem('PRIVATE KEY'),
          certificatePem: pem('CERTIFICATE'),
          chainPem: [pem('CERTIFICATE'), pem('CERTIFICATE')],
        },
      ],
      [
        deviceKeyCredentialJson(pem('CERTIFICATE'), chain),
        {
          kind: 'certificate',
          keyLocation: 'device',
          certificatePem: pem('CERTIFICATE'),
          chainPem: [pem('CERTIFICATE'), pem('CERTIFICATE')],
        },
      ],
      [
        pskCredentialJson('EM300-000001', Buffer.alloc(32, 9).toString('base64')),
        { kind: 'psk', pskIdentity: 'EM300-000001', pskBase64: Buffer.alloc(32, 9).toString('base64') },
      ],
    ];
    for (const [json, credential] of credentials) {
      const line = writer.line('EM300-000001', '4a1b2c3d4e5f60710000000000000000', json);
      expect(line).toBe(`${JSON.stringify(expected(credential))}\n`);
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(parseBundle(line)).toEqual(expected(credential));
    }
  });
});
