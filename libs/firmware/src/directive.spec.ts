// Spec §4.2 (Uptane): freeze, metadata rollback and wrong-software, as the meter checks a directive.
import { describe, expect, it } from 'vitest';
import { NOW, at, days, directive, newKeyPair } from '../test/fixtures';
import { canonicalize } from './canonical-json';
import { type DirectiveExpectation, signDirective, verifyDirective } from './directive';

const directiveKey = newKeyPair();
const expectation: DirectiveExpectation = { deviceId: 'MTR-000001', lastCounter: 4, trustedNow: NOW };
const code = (result: ReturnType<typeof verifyDirective>) => (result.ok ? 'ok' : result.code);

describe('signDirective / verifyDirective', () => {
  it('verifies a fresh directive for this device and returns the verified copy', () => {
    const bytes = signDirective(directive(), directiveKey.privateKey);
    const result = verifyDirective(bytes, directiveKey.publicKey, expectation);
    expect(result).toMatchObject({ ok: true, directive: directive() });
    if (result.ok) expect(result.canonicalBytes.toString()).toBe(canonicalize(directive()));
  });

  it('refuses a directive signed by another key, or changed after signing', () => {
    const other = newKeyPair();
    expect(
      code(
        verifyDirective(signDirective(directive(), other.privateKey), directiveKey.publicKey, expectation),
      ),
    ).toBe('DIRECTIVE_SIGNATURE_INVALID');
    const signed = JSON.parse(signDirective(directive(), directiveKey.privateKey).toString());
    signed.directive.manifestDigest = 'f'.repeat(64);
    expect(
      code(verifyDirective(Buffer.from(JSON.stringify(signed)), directiveKey.publicKey, expectation)),
    ).toBe('DIRECTIVE_SIGNATURE_INVALID');
    delete signed.signature;
    expect(
      code(verifyDirective(Buffer.from(JSON.stringify(signed)), directiveKey.publicKey, expectation)),
    ).toBe('DIRECTIVE_SIGNATURE_INVALID');
  });

  it('refuses an unknown field and oversize or non-JSON bytes as DIRECTIVE_MALFORMED', () => {
    const signed = JSON.parse(signDirective(directive(), directiveKey.privateKey).toString());
    signed.directive.downloadUrl = 'https://attacker.example/fw';
    expect(
      code(verifyDirective(Buffer.from(JSON.stringify(signed)), directiveKey.publicKey, expectation)),
    ).toBe('DIRECTIVE_MALFORMED');
    expect(code(verifyDirective(Buffer.alloc(9000, 0x20), directiveKey.publicKey, expectation))).toBe(
      'DIRECTIVE_MALFORMED',
    );
    expect(code(verifyDirective(Buffer.from('nope'), directiveKey.publicKey, expectation))).toBe(
      'DIRECTIVE_MALFORMED',
    );
  });

  it('uptane.freeze.stale-directive-refused', () => {
    const bytes = signDirective(directive(), directiveKey.privateKey);
    const expiresAt = new Date(directive().expiresAt);
    expect(
      code(verifyDirective(bytes, directiveKey.publicKey, { ...expectation, trustedNow: expiresAt })),
    ).toBe('ok');
    expect(
      code(
        verifyDirective(bytes, directiveKey.publicKey, {
          ...expectation,
          trustedNow: new Date(expiresAt.getTime() + 1),
        }),
      ),
    ).toBe('DIRECTIVE_EXPIRED');
    expect(
      code(verifyDirective(bytes, directiveKey.publicKey, { ...expectation, trustedNow: at(days(30)) })),
    ).toBe('DIRECTIVE_EXPIRED');
    // A directive cannot claim a lifetime beyond 7 days.
    expect(() =>
      signDirective(directive({ expiresAt: at(days(8)).toISOString() }), directiveKey.privateKey),
    ).toThrow(/expiresAt/);
  });

  it('uptane.rollback.directive-version-monotonic', () => {
    const sign = (counter: number) => signDirective(directive({ counter }), directiveKey.privateKey);
    expect(code(verifyDirective(sign(3), directiveKey.publicKey, expectation))).toBe(
      'DIRECTIVE_COUNTER_ROLLBACK',
    );
    expect(code(verifyDirective(sign(0), directiveKey.publicKey, expectation))).toBe(
      'DIRECTIVE_COUNTER_ROLLBACK',
    );
    // The last accepted counter again is the same directive again; higher is new.
    expect(code(verifyDirective(sign(4), directiveKey.publicKey, expectation))).toBe('ok');
    expect(code(verifyDirective(sign(5), directiveKey.publicKey, expectation))).toBe('ok');
    expect(
      code(verifyDirective(sign(0), directiveKey.publicKey, { ...expectation, lastCounter: undefined })),
    ).toBe('ok');
  });

  it('uptane.wrong-software.directive-device-id-bound', () => {
    const forAnother = signDirective(directive({ deviceId: 'MTR-000002' }), directiveKey.privateKey);
    expect(code(verifyDirective(forAnother, directiveKey.publicKey, expectation))).toBe(
      'DIRECTIVE_DEVICE_MISMATCH',
    );
  });

  it('needs forceAt exactly for a time-forced action, and a window that ends after it starts', () => {
    expect(() => signDirective(directive({ actionType: 'timeforced' }), directiveKey.privateKey)).toThrow(
      /forceAt/,
    );
    expect(() =>
      signDirective(directive({ forceAt: at(3600_000).toISOString() }), directiveKey.privateKey),
    ).toThrow(/forceAt/);
    expect(() =>
      signDirective(
        directive({ window: { startsAt: at(2).toISOString(), endsAt: at(1).toISOString() } }),
        directiveKey.privateKey,
      ),
    ).toThrow(/window/);
    const timed = signDirective(
      directive({ actionType: 'timeforced', forceAt: at(3600_000).toISOString() }),
      directiveKey.privateKey,
    );
    expect(code(verifyDirective(timed, directiveKey.publicKey, expectation))).toBe('ok');
  });
});
