import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AT, T0, buildPki, flipByte, years } from '../test/fixtures.js';
import { OpensslWorkspace } from '../test/openssl.js';
import {
  createCsr,
  exportPrivateKey,
  generateKeyPair,
  issueCrl,
  issueFromCsr,
  parseCertificate,
  parseCsr,
  validateChain,
} from './index.js';

/** Outside checks: what this library writes, OpenSSL must accept, and what OpenSSL writes, we must read. */
describe('OpenSSL cross-checks', () => {
  const ws = new OpensslWorkspace();
  afterAll(() => ws.cleanup());
  const pki = buildPki('meter-0001');
  const attime = String(Math.floor(AT.getTime() / 1000));
  const root = ws.write('root.pem', pki.root.certificate.pem);
  const intermediate = ws.write('intermediate.pem', pki.intermediate.certificate.pem);
  const leaf = ws.write('leaf.pem', pki.leaf.pem);
  const server = ws.write('server.pem', pki.server.pem);
  const verify = (...args: string[]) =>
    ws.run('verify', '-x509_strict', '-attime', attime, '-CAfile', root, '-untrusted', intermediate, ...args);

  it('openssl verify (-x509_strict) accepts root -> intermediate -> factory-device leaf for sslclient', () => {
    const result = verify('-purpose', 'sslclient', leaf);
    expect(result.output).toContain('leaf.pem: OK');
    expect(result.status).toBe(0);
    // …and refuses it for sslserver (EKU is clientAuth only), and once it has expired.
    expect(verify('-purpose', 'sslserver', leaf).status).not.toBe(0);
    const late = ws.run(
      'verify',
      '-attime',
      String(Math.floor(years(T0, 11).getTime() / 1000)),
      '-CAfile',
      root,
      '-untrusted',
      intermediate,
      leaf,
    );
    expect(late.output).toContain('certificate has expired');
  });

  it('openssl verify accepts the server certificate for its host name and IP', () => {
    const result = verify(
      '-purpose',
      'sslserver',
      '-verify_hostname',
      'bootstrap.meterkeep.test',
      '-verify_ip',
      '::1',
      server,
    );
    expect(result.output).toContain('server.pem: OK');
    expect(verify('-purpose', 'sslserver', '-verify_hostname', 'evil.example', server).status).not.toBe(0);
  });

  it('openssl x509 -text shows the profile extensions with their criticality', () => {
    const text = ws.run('x509', '-in', leaf, '-noout', '-text').output;
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \s+TLS Web Client Authentication\n/);
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');
    const caText = ws.run('x509', '-in', intermediate, '-noout', '-text').output;
    expect(caText).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(caText).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  it('openssl req -verify accepts our CSR and refuses a tampered one', () => {
    const csr = createCsr({
      privateKey: generateKeyPair().privateKey,
      subject: { commonName: 'meter-0007' },
    });
    const ok = ws.run('req', '-in', ws.write('csr.pem', csr.pem), '-verify', '-noout');
    expect(ok.status).toBe(0);
    expect(ok.output).toMatch(/verify OK/);
    // OpenSSL 3.0 exits 0 even when the self-signature fails, so read what it says.
    const bad = ws.run(
      'req',
      '-in',
      ws.write('bad.der', flipByte(csr.der, -1)),
      '-inform',
      'DER',
      '-verify',
      '-noout',
    );
    expect(bad.output).toMatch(/verify fail/);
    expect(bad.output).not.toMatch(/verify OK/);
  });

  it('openssl crl verifies our CRL, and openssl verify -crl_check sees the revocation', () => {
    const crl = issueCrl({
      issuer: pki.intermediate,
      thisUpdate: T0,
      nextUpdate: years(T0, 2),
      crlNumber: 3,
      revoked: [{ serial: pki.leaf.serial, revokedAt: T0, reason: 'keyCompromise' }],
    });
    const rootCrl = issueCrl({
      issuer: pki.root,
      thisUpdate: T0,
      nextUpdate: years(T0, 2),
      crlNumber: 1,
      revoked: [],
    });
    const crlFile = ws.write('intermediate.crl.pem', crl.pem);
    const rootCrlFile = ws.write('root.crl.pem', rootCrl.pem);
    const checked = ws.run('crl', '-in', crlFile, '-CAfile', intermediate, '-noout', '-verify');
    expect(checked.output).toContain('verify OK');
    expect(checked.status).toBe(0);
    const text = ws.run('crl', '-in', crlFile, '-noout', '-text').output;
    expect(text).toMatch(/X509v3 CRL Number: \s+3/);
    expect(text).toContain('Key Compromise');
    expect(text).toContain(`Serial Number: ${pki.leaf.serialHex.toUpperCase()}`);
    const forged = ws.run(
      'crl',
      '-in',
      ws.write('forged.crl', flipByte(crl.der, -1)),
      '-inform',
      'DER',
      '-CAfile',
      intermediate,
      '-noout',
      '-verify',
    );
    expect(forged.output).not.toContain('verify OK');

    const revoked = verify('-crl_check_all', '-CRLfile', crlFile, '-CRLfile', rootCrlFile, leaf);
    expect(revoked.output).toContain('certificate revoked');
    expect(revoked.status).not.toBe(0);
    const fine = verify('-crl_check_all', '-CRLfile', crlFile, '-CRLfile', rootCrlFile, server);
    expect(fine.output).toContain('server.pem: OK');
  });

  it('we read what OpenSSL writes: its CSR, and a certificate it signs with our intermediate key', () => {
    const meterKey = ws.write('meter.key', exportPrivateKey(generateKeyPair().privateKey, 'pem'));
    const csrFile = ws.write('openssl.csr', '');
    const made = ws.run('req', '-new', '-key', meterKey, '-subj', '/O=Acme/CN=meter-0099', '-out', csrFile);
    expect(made.output).toBe('');
    const csrPem = ws.run('req', '-in', csrFile).output;
    const csr = parseCsr(csrPem);
    expect(csr.subject.commonName).toBe('meter-0099');
    const ours = issueFromCsr({
      issuer: pki.intermediate,
      csr,
      expectedCommonName: 'meter-0099',
      profile: 'factory-device',
      notBefore: T0,
      notAfter: years(T0, 5),
    });
    expect(verify('-purpose', 'sslclient', ws.write('ours.pem', ours.pem)).output).toContain('ours.pem: OK');

    const caKey = ws.write('intermediate.key', exportPrivateKey(pki.intermediate.privateKey, 'pem'));
    const ext = ws.write(
      'ext.cnf',
      [
        '[v3]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = clientAuth',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    const out = ws.write('openssl-leaf.pem', '');
    const signed = ws.run(
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      intermediate,
      '-CAkey',
      caKey,
      '-set_serial',
      '0x1234',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      ext,
      '-extensions',
      'v3',
      '-out',
      out,
    );
    expect(signed.status).toBe(0);
    const pem = ws.run('x509', '-in', out).output;
    const theirs = parseCertificate(pem);
    const node = new X509Certificate(pem);
    expect(theirs.serial).toBe(0x1234n);
    expect(theirs.subject.toString()).toBe('O=Acme, CN=meter-0099');
    expect(theirs.extensions.keyUsage).toEqual(['digitalSignature']);
    expect(theirs.extensions.extKeyUsage).toEqual(['clientAuth']);
    expect(theirs.notBefore.getTime()).toBe(node.validFromDate.getTime());
    const { path } = validateChain({
      leaf: theirs,
      intermediates: [pki.intermediate.certificate],
      trustAnchors: [pki.root.certificate],
      at: theirs.notBefore,
      requiredEku: 'clientAuth',
    });
    expect(path).toHaveLength(3);
  });
});
