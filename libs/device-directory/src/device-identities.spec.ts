import { describe, expect, it } from 'vitest';
import { createRootCa, der, generateKeyPair, issueCertificate } from '@meterkeep/pki';
import type { DeviceRefusal } from './device-check';
import type { DeviceDirectory, IssuingCa } from './device-directory';
import { DeviceIdentities, type DeviceSender } from './device-identities';

const now = new Date();
const validity = {
  notBefore: new Date(now.getTime() - 60_000),
  notAfter: new Date(now.getTime() + 86_400_000),
};
const caValidity = { ...validity, notAfter: new Date(now.getTime() + 2 * 86_400_000) };
const ca = createRootCa({ subject: { commonName: 'Tenant issuing CA' }, validity: caValidity });
/** Same name, another key: a certificate it issued names the tenant's CA as issuer. */
const otherCa = createRootCa({ subject: { commonName: 'Tenant issuing CA' }, validity: caValidity });
const keyPair = generateKeyPair();
const leafOf = (issuer: typeof ca) =>
  issueCertificate({
    issuer,
    profile: 'operational-device',
    subject: { commonName: 'MTR-1' },
    subjectPublicKey: keyPair.publicKey,
    ...validity,
  });
const leaf = leafOf(ca);

function identities(options: { caughtUp?: boolean; issuers?: IssuingCa[] } = {}) {
  const issuers = options.issuers ?? [{ tenantId: 't1', certificate: ca.certificate }];
  const directory = { issuersNamed: () => issuers } as unknown as DeviceDirectory;
  const chains = new Map<object, Buffer[]>();
  let reads = 0;
  const ids = new DeviceIdentities({
    directory,
    peerChain: (socket) => {
      reads++;
      return chains.get(socket) ?? [];
    },
    caughtUp: () => options.caughtUp ?? true,
  });
  const present = (raw?: Buffer) => {
    const socket = {};
    chains.set(socket, raw ? [raw] : []);
    return socket;
  };
  return { ids, present, reads: () => reads };
}

const codeOf = (verdict: DeviceSender | DeviceRefusal) => ('code' in verdict ? verdict.code : 'ok');

describe('DeviceIdentities', () => {
  it('verifies a connection once and keeps its sender, with the certificate key', () => {
    const { ids, present, reads } = identities();
    const socket = present(leaf.der);
    const sender = ids.of(socket, now) as DeviceSender;
    expect(sender).toMatchObject({ tenantId: 't1', endpointName: 'MTR-1', serial: leaf.serialHex });
    expect(sender.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      keyPair.publicKey.export({ type: 'spki', format: 'der' }),
    );
    ids.of(socket, now);
    expect(reads()).toBe(1);
  });

  it('keeps a refusal for the connection: a resent bad certificate is not parsed again', () => {
    const { ids, present, reads } = identities();
    const socket = present(der.sequence(der.integer(1)));
    for (let i = 0; i < 3; i++) expect(codeOf(ids.of(socket, now))).toBe('CERTIFICATE_UNTRUSTED');
    expect(reads()).toBe(1);
    // Another connection is judged afresh.
    expect(codeOf(ids.of(present(leaf.der), now))).toBe('ok');
  });

  it('asks for a certificate when none was presented', () => {
    const { ids, present } = identities();
    expect(codeOf(ids.of(present(), now))).toBe('CLIENT_CERTIFICATE_REQUIRED');
  });

  it('refuses a certificate of another CA of the same name', () => {
    const { ids, present } = identities();
    expect(codeOf(ids.of(present(leafOf(otherCa).der), now))).toBe('CERTIFICATE_UNTRUSTED');
  });

  it('says a tenant-issued certificate past its notAfter expired, and an unknown one untrusted', () => {
    const later = new Date(validity.notAfter.getTime() + 1_000);
    const { ids, present } = identities();
    expect(codeOf(ids.of(present(leaf.der), later))).toBe('CERTIFICATE_EXPIRED');
    expect(codeOf(ids.of(present(leafOf(otherCa).der), later))).toBe('CERTIFICATE_UNTRUSTED');
  });

  it('says retry later for an issuer not known before catching up, and does not keep that', () => {
    let caughtUp = false;
    const issuers: IssuingCa[] = [];
    const directory = { issuersNamed: () => issuers } as unknown as DeviceDirectory;
    const ids = new DeviceIdentities({ directory, peerChain: () => [leaf.der], caughtUp: () => caughtUp });
    const socket = {};
    expect(codeOf(ids.of(socket, now))).toBe('NOT_YET_KNOWN');
    issuers.push({ tenantId: 't1', certificate: ca.certificate });
    caughtUp = true;
    expect(codeOf(ids.of(socket, now))).toBe('ok');
  });
});
