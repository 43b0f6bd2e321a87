import { describe, expect, it } from 'vitest';
import { T0, buildPki, errorCode, flipByte, years } from '../test/fixtures.js';
import { checkCrlCurrent, isRevoked, issueCrl, parseCrl, revocationOf, verifyCrl } from './index.js';

const pki = buildPki();
const revokedAt = new Date('2025-03-04T05:06:07Z');

describe('CRL', () => {
  const crl = issueCrl({
    issuer: pki.intermediate,
    thisUpdate: T0,
    nextUpdate: years(T0, 1),
    crlNumber: 12,
    revoked: [
      { serial: pki.leaf.serial, revokedAt, reason: 'keyCompromise' },
      { serial: 0x1234n, revokedAt, reason: 'unspecified' },
      { serial: Buffer.from([0x00, 0x99]), revokedAt },
    ],
  });

  it('round-trips an X.509 v2 CRL with CRL number, AKI and reasons', () => {
    const parsed = parseCrl(crl.pem);
    expect(parsed.der.equals(crl.der)).toBe(true);
    expect(parsed.crlNumber).toBe(12n);
    expect(parsed.issuer.equals(pki.intermediate.certificate.subject)).toBe(true);
    expect(
      parsed.authorityKeyIdentifier?.equals(pki.intermediate.certificate.extensions.subjectKeyIdentifier!),
    ).toBe(true);
    expect(parsed.thisUpdate.getTime()).toBe(T0.getTime());
    expect(revocationOf(parsed, pki.leaf)).toEqual({
      serial: pki.leaf.serial,
      revokedAt,
      reason: 'keyCompromise',
    });
    expect(revocationOf(parsed, 0x1234n)?.reason).toBeUndefined(); // "unspecified" is omitted, as RFC 5280 asks
    expect(isRevoked(parsed, 0x99n)).toBe(true);
    expect(isRevoked(parsed, pki.server.serial)).toBe(false);
    expect(isRevoked(parsed, pki.server)).toBe(false);
    // A certificate from another issuer with a listed serial is not covered by this CRL.
    expect(isRevoked(parsed, pki.intermediate.certificate)).toBe(false);
  });

  it('omits revokedCertificates when nothing is revoked', () => {
    const empty = issueCrl({
      issuer: pki.root,
      thisUpdate: T0,
      nextUpdate: years(T0, 1),
      crlNumber: 1,
      revoked: [],
    });
    expect(parseCrl(empty.der).entries.size).toBe(0);
    expect(() => verifyCrl(empty, pki.root.certificate)).not.toThrow();
  });

  it('verifies against the issuer; CRL_BAD_SIGNATURE when tampered; WRONG_ISSUER for another CA', () => {
    expect(() => verifyCrl(crl, pki.intermediate.certificate)).not.toThrow();
    expect(errorCode(() => verifyCrl(parseCrl(flipByte(crl.der, -1)), pki.intermediate.certificate))).toBe(
      'CRL_BAD_SIGNATURE',
    );
    const numberOffset = crl.der.indexOf(Buffer.from([0x02, 0x01, 0x0c])); // CRL number 12
    expect(numberOffset).toBeGreaterThan(0);
    expect(
      errorCode(() => verifyCrl(parseCrl(flipByte(crl.der, numberOffset + 2)), pki.intermediate.certificate)),
    ).toBe('CRL_BAD_SIGNATURE');
    expect(errorCode(() => verifyCrl(crl, pki.root.certificate))).toBe('WRONG_ISSUER');
  });

  it('CRL_NOT_YET_VALID / CRL_EXPIRED outside thisUpdate..nextUpdate', () => {
    expect(() => checkCrlCurrent(crl, T0)).not.toThrow();
    expect(errorCode(() => checkCrlCurrent(crl, new Date(T0.getTime() - 1000)))).toBe('CRL_NOT_YET_VALID');
    expect(errorCode(() => checkCrlCurrent(crl, new Date(years(T0, 1).getTime() + 1000)))).toBe(
      'CRL_EXPIRED',
    );
  });

  it('refuses duplicate and non-positive serials, and a certificate given as a CRL', () => {
    const issue = (revoked: { serial: bigint; revokedAt: Date }[]) => () =>
      issueCrl({ issuer: pki.intermediate, thisUpdate: T0, nextUpdate: years(T0, 1), crlNumber: 2, revoked });
    expect(
      errorCode(
        issue([
          { serial: 5n, revokedAt },
          { serial: 5n, revokedAt },
        ]),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(errorCode(issue([{ serial: 0n, revokedAt }]))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => parseCrl(pki.leaf.der))).toBe('MALFORMED');
  });
});
