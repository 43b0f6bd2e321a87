import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRootCa, der, generateKeyPair, issueCertificate } from '@meterkeep/pki';
import { DomainError } from '@meterkeep/service-runtime';
import type { DeviceDirectory, IssuingCa } from '../directory/device-directory';
import { SenderIdentity } from './sender-identity';

const now = new Date();
const validity = {
  notBefore: new Date(now.getTime() - 60_000),
  notAfter: new Date(now.getTime() + 86_400_000),
};
const ca = createRootCa({
  subject: { commonName: 'Tenant issuing CA' },
  validity: { ...validity, notAfter: new Date(now.getTime() + 2 * 86_400_000) },
});
const leaf = issueCertificate({
  issuer: ca,
  profile: 'operational-device',
  subject: { commonName: 'MTR-1' },
  subjectPublicKey: generateKeyPair().publicKey,
  ...validity,
});

/** A TLS socket as Node presents it, counting how often its certificate is read. */
function socketPresenting(raw: Buffer): Socket & { reads: number } {
  const socket = {
    reads: 0,
    getPeerCertificate() {
      socket.reads++;
      return { raw, fingerprint256: 'x', issuerCertificate: undefined };
    },
  };
  return socket as unknown as Socket & { reads: number };
}

function identity(): SenderIdentity {
  const issuer: IssuingCa = { tenantId: 't1', certificate: ca.certificate };
  const directory = { issuersNamed: () => [issuer] } as unknown as DeviceDirectory;
  return new SenderIdentity(directory);
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  throw new Error('nothing thrown');
};

describe('SenderIdentity', () => {
  it('verifies a connection once and keeps its sender', () => {
    const ids = identity();
    const socket = socketPresenting(leaf.der);
    expect(ids.of(socket, now)).toMatchObject({ tenantId: 't1', endpointName: 'MTR-1' });
    expect(ids.of(socket, now).serial).toBe(leaf.serialHex);
    expect(socket.reads).toBe(1);
  });

  it('keeps a refusal for the connection: a resent bad certificate is not parsed again', () => {
    const ids = identity();
    const garbage = der.sequence(der.integer(1));
    const socket = socketPresenting(garbage);
    for (let i = 0; i < 3; i++) expect(codeOf(() => ids.of(socket, now))).toBe('CERTIFICATE_UNTRUSTED');
    expect(socket.reads).toBe(1);
    // Another connection is judged afresh.
    const other = socketPresenting(leaf.der);
    expect(ids.of(other, now).endpointName).toBe('MTR-1');
  });
});
