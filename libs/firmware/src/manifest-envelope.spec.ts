// Spec §4.1 THREAT.IMG.NON_AUTH, THREAT.KEY.EXPOSURE, THREAT.UPD.UNAPPROVED and §4.2 key rotation, as
// the meter checks a manifest envelope. Each test names the threat row it stands for.
import { createHash, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DIGEST_B,
  type LooseJson,
  NOW,
  at,
  days,
  editEnvelope,
  manifest,
  newKeyPair,
} from '../test/fixtures';
import { canonicalize } from './canonical-json';
import { type ManifestTrust, cosignManifest, signManifest, verifyManifestEnvelope } from './envelope';
import { MAX_ENVELOPE_BYTES } from './manifest.schema';
import { keyIdOf } from './signature';
import { issueSigningKeyCertificate } from './signing-key-certificate';

const root = newKeyPair();
const other = newKeyPair();
const trust: ManifestTrust = { rootPublicKeys: [root.publicKey] };
const signedByRoot = () => signManifest(manifest(), [{ privateKey: root.privateKey }]);

const expectRefused = (result: ReturnType<typeof verifyManifestEnvelope>, code: string) => {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) expect(result.code).toBe(code);
};

describe('signManifest / verifyManifestEnvelope', () => {
  it('verifies a root-signed manifest over its exact JCS bytes and names its digest and signer', () => {
    const signed = signedByRoot();
    expect(signed.canonicalBytes.toString('utf8')).toBe(canonicalize(manifest()));
    expect(signed.digest).toBe(createHash('sha256').update(signed.canonicalBytes).digest('hex'));
    const result = verifyManifestEnvelope(signed.envelopeBytes, trust, NOW);
    expect(result).toMatchObject({
      ok: true,
      digest: signed.digest,
      signerKeyIds: [keyIdOf(root.publicKey)],
    });
    if (result.ok) {
      expect(result.manifest).toEqual(manifest());
      expect(result.canonicalBytes.equals(signed.canonicalBytes)).toBe(true);
    }
  });

  it('verifies whatever the whitespace and member order of the envelope bytes (the signature is over JCS)', () => {
    const signed = signedByRoot();
    const pretty = Buffer.from(JSON.stringify(JSON.parse(signed.envelopeBytes.toString()), null, 2));
    expect(verifyManifestEnvelope(pretty, trust, NOW).ok).toBe(true);
  });

  it('keyIdOf is the hex SHA-256 of the SPKI DER', () => {
    const spki = root.publicKey.export({ type: 'spki', format: 'der' });
    expect(keyIdOf(root.publicKey)).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(keyIdOf(root.privateKey)).toBe(keyIdOf(root.publicKey));
  });

  it('suit.non-auth.unsigned-refused', () => {
    const signed = signedByRoot();
    expectRefused(
      verifyManifestEnvelope(
        editEnvelope(signed.envelopeBytes, (e) => {
          e.signatures = [];
        }),
        trust,
        NOW,
      ),
      'MANIFEST_SIGNATURE_INVALID',
    );
    expectRefused(
      verifyManifestEnvelope(
        editEnvelope(signed.envelopeBytes, (e) => delete e.signatures),
        trust,
        NOW,
      ),
      'MANIFEST_SIGNATURE_INVALID',
    );
    expectRefused(
      verifyManifestEnvelope(Buffer.from(JSON.stringify(manifest())), trust, NOW),
      'MANIFEST_SIGNATURE_INVALID',
    );
  });

  it('suit.non-auth.wrong-key-refused', () => {
    const byOther = signManifest(manifest(), [{ privateKey: other.privateKey }]);
    expectRefused(verifyManifestEnvelope(byOther.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    // The other key's signature presented under the root's key id.
    const relabelled = editEnvelope(byOther.envelopeBytes, (e) => {
      e.signatures[0].keyId = keyIdOf(root.publicKey);
    });
    expectRefused(verifyManifestEnvelope(relabelled, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    // A self-made signing-key certificate: signed by the other key, not by a root.
    const cert = issueSigningKeyCertificate({
      rootPrivateKey: other.privateKey,
      signingPublicKey: other.publicKey,
      notBefore: at(-days(1)),
      notAfter: at(days(30)),
    });
    const selfCertified = signManifest(manifest(), [
      { privateKey: other.privateKey, signingKeyCertPem: cert },
    ]);
    expectRefused(
      verifyManifestEnvelope(selfCertified.envelopeBytes, trust, NOW),
      'MANIFEST_SIGNATURE_INVALID',
    );
  });

  it('suit.non-auth.sig-over-other-bytes-refused', () => {
    const signed = signedByRoot();
    const lower = signManifest(manifest({ sequenceNumber: 44 }), [{ privateKey: root.privateKey }]);
    // The signature of another manifest under this one; and a field changed after signing.
    const swapped = editEnvelope(signed.envelopeBytes, (e) => {
      e.signatures = JSON.parse(lower.envelopeBytes.toString()).signatures;
    });
    expectRefused(verifyManifestEnvelope(swapped, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    const bumped = editEnvelope(signed.envelopeBytes, (e) => {
      e.manifest.sequenceNumber = 99;
    });
    expectRefused(verifyManifestEnvelope(bumped, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    const retargeted = editEnvelope(signed.envelopeBytes, (e) => {
      e.manifest.components[0].digest.value = DIGEST_B;
    });
    expectRefused(verifyManifestEnvelope(retargeted, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('suit.non-auth.alg-none-refused', () => {
    const signed = signedByRoot();
    for (const alg of ['none', 'HS256', 'ES384', 'es256', '']) {
      const tampered = editEnvelope(signed.envelopeBytes, (e) => {
        e.signatures[0].alg = alg;
      });
      expectRefused(verifyManifestEnvelope(tampered, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    }
    const noneEmpty = editEnvelope(signed.envelopeBytes, (e) => {
      e.signatures[0] = { ...e.signatures[0], alg: 'none', sig: '' };
    });
    expectRefused(verifyManifestEnvelope(noneEmpty, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('suit.non-auth.truncated-sig-refused', () => {
    const signed = signedByRoot();
    const der = signed.signaturesDer[0]!;
    for (const cut of [1, 2, 8, der.length - 8]) {
      const truncated = editEnvelope(signed.envelopeBytes, (e) => {
        e.signatures[0].sig = der.subarray(0, der.length - cut).toString('base64url');
      });
      expectRefused(verifyManifestEnvelope(truncated, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    }
    // Raw r||s (64 bytes) is not the DER the envelope carries; padding and standard base64 neither. A
    // random signature's standard base64 can read the same as its base64url (no +, / or padding): that
    // one is the signature itself, so padding is also tested on its own.
    const standard = der.toString('base64');
    for (const sig of [`${der.toString('base64url')}=`, standard]) {
      if (sig === der.toString('base64url')) continue;
      const padded = editEnvelope(signed.envelopeBytes, (e) => {
        e.signatures[0].sig = sig;
      });
      expectRefused(verifyManifestEnvelope(padded, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    }
    const trailing = editEnvelope(signed.envelopeBytes, (e) => {
      e.signatures[0].sig = Buffer.concat([der, Buffer.from([0])]).toString('base64url');
    });
    expectRefused(verifyManifestEnvelope(trailing, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('suit.non-auth.extra-field-unsigned-refused', () => {
    const signed = signedByRoot();
    // A field added after signing, at the top of the manifest, in a component, in a digest, in the envelope.
    const edits: ((e: LooseJson) => void)[] = [
      (e) => {
        e.manifest.installNow = true;
      },
      (e) => {
        e.manifest.components[0].slot = 'A';
      },
      (e) => {
        e.manifest.components[0].digest.url = 'https://attacker.example/fw.bin';
      },
      (e) => {
        e.signatures[0].x5u = 'https://attacker.example/key';
      },
      (e) => {
        e.unsignedHint = 1;
      },
    ];
    for (const edit of edits) {
      const result = verifyManifestEnvelope(editEnvelope(signed.envelopeBytes, edit), trust, NOW);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['MANIFEST_MALFORMED', 'MANIFEST_SIGNATURE_INVALID']).toContain(result.code);
    }
    // Unknown fields are refused even when signed: never ignored.
    const envelope = JSON.parse(signed.envelopeBytes.toString());
    const withExtra = { ...envelope.manifest, installNow: true };
    const bytes = Buffer.from(canonicalize(withExtra));
    const sig = sign('sha256', bytes, { key: root.privateKey, dsaEncoding: 'der' }).toString('base64url');
    const signedExtra = Buffer.from(
      JSON.stringify({
        manifest: withExtra,
        signatures: [{ keyId: keyIdOf(root.publicKey), alg: 'ES256', sig }],
      }),
    );
    expectRefused(verifyManifestEnvelope(signedExtra, trust, NOW), 'MANIFEST_MALFORMED');
  });

  it('refuses an envelope over 64 KiB before parsing it, and bytes that are not UTF-8 JSON', () => {
    const signed = signedByRoot();
    const big = Buffer.concat([signed.envelopeBytes, Buffer.alloc(MAX_ENVELOPE_BYTES, 0x20)]);
    expectRefused(verifyManifestEnvelope(big, trust, NOW), 'MANIFEST_MALFORMED');
    expectRefused(
      verifyManifestEnvelope(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), trust, NOW),
      'MANIFEST_MALFORMED',
    );
    expectRefused(verifyManifestEnvelope(Buffer.from('{"manifest":'), trust, NOW), 'MANIFEST_MALFORMED');
  });

  it('refuses more than 8 components and more than 4 signatures', () => {
    const signed = signedByRoot();
    const nine = editEnvelope(signed.envelopeBytes, (e) => {
      e.manifest.components = Array(9).fill(e.manifest.components[0]);
    });
    expectRefused(verifyManifestEnvelope(nine, trust, NOW), 'MANIFEST_MALFORMED');
    const five = editEnvelope(signed.envelopeBytes, (e) => {
      e.signatures = Array(5).fill(e.signatures[0]);
    });
    expectRefused(verifyManifestEnvelope(five, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('refuses a delta without its precursor, and a manifest without expiry unless end-of-life', () => {
    const delta = manifest({
      components: [
        {
          id: ['app'],
          version: '4.3.1',
          format: 'zstd-patch',
          digest: { alg: 'sha-256', value: DIGEST_B },
          size: 1000,
        },
      ],
    });
    expect(() => signManifest(delta, [{ privateKey: root.privateKey }])).toThrow(/precursorDigest/);
    const { expiresAt: _expiresAt, ...noExpiry } = manifest();
    expect(() => signManifest(noExpiry, [{ privateKey: root.privateKey }])).toThrow(/expiresAt/);
    const endOfLife = signManifest({ ...noExpiry, endOfLife: true }, [{ privateKey: root.privateKey }]);
    expect(verifyManifestEnvelope(endOfLife.envelopeBytes, trust, NOW).ok).toBe(true);
  });

  it('refuses a description with control, bidi-override or private-use characters', () => {
    for (const description of ['line\nforged: ok', 'abc\u202edcba', '\ue000', 'x'.repeat(513)]) {
      expect(() => signManifest(manifest({ description }), [{ privateKey: root.privateKey }])).toThrow(
        /description/,
      );
    }
  });

  it('suit.format.unknown-format-refused (at the schema: the format is inside the signed bytes)', () => {
    const signed = signedByRoot();
    const lz4 = editEnvelope(signed.envelopeBytes, (e) => {
      e.manifest.components[0].format = 'lz4';
    });
    expectRefused(verifyManifestEnvelope(lz4, trust, NOW), 'FORMAT_UNSUPPORTED');
  });

  it('suit.location.unknown-component-refused (a component no meter has)', () => {
    const signed = signedByRoot();
    const bootloader = editEnvelope(signed.envelopeBytes, (e) => {
      e.manifest.components[0].id = ['bootloader'];
    });
    expectRefused(verifyManifestEnvelope(bootloader, trust, NOW), 'COMPONENT_UNKNOWN');
  });
});

describe('delegated signing keys', () => {
  const signing = newKeyPair();
  const delegate = (notBefore: Date, notAfter: Date, by = root) =>
    issueSigningKeyCertificate({
      rootPrivateKey: by.privateKey,
      signingPublicKey: signing.publicKey,
      notBefore,
      notAfter,
    });
  const signedBySigningKey = (cert: string) =>
    signManifest(manifest(), [{ privateKey: signing.privateKey, signingKeyCertPem: cert }]);

  it('tuf.root-rotation.n-to-n-plus-1: a signing key certified by the root verifies; an expired or future delegation is refused', () => {
    const valid = signedBySigningKey(delegate(at(-days(1)), at(days(30))));
    const result = verifyManifestEnvelope(valid.envelopeBytes, trust, NOW);
    expect(result).toMatchObject({ ok: true, signerKeyIds: [keyIdOf(signing.publicKey)] });

    const expired = signedBySigningKey(delegate(at(-days(31)), at(-days(1))));
    expectRefused(verifyManifestEnvelope(expired.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    // The same envelope, checked at a time inside its validity, passes: the refusal is the expiry's.
    expect(verifyManifestEnvelope(expired.envelopeBytes, trust, at(-days(2))).ok).toBe(true);

    const future = signedBySigningKey(delegate(at(days(1)), at(days(30))));
    expectRefused(verifyManifestEnvelope(future.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('tuf.root-rotation.n-to-n-plus-1: after rotation to root N+1, its delegations verify; N+1 alone refuses N-only signatures', () => {
    const next = newKeyPair();
    const rotated: ManifestTrust = { rootPublicKeys: [root.publicKey, next.publicKey] };
    const byNext = signedBySigningKey(delegate(at(-days(1)), at(days(30)), next));
    expect(verifyManifestEnvelope(byNext.envelopeBytes, rotated, NOW).ok).toBe(true);
    expectRefused(verifyManifestEnvelope(byNext.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
    const byOldRoot = signedByRoot();
    expectRefused(
      verifyManifestEnvelope(byOldRoot.envelopeBytes, { rootPublicKeys: [next.publicKey] }, NOW),
      'MANIFEST_SIGNATURE_INVALID',
    );
  });

  it('refuses a certificate for another key than the one that signed', () => {
    const cert = delegate(at(-days(1)), at(days(30)));
    const stolenCert = signManifest(manifest(), [{ privateKey: other.privateKey, signingKeyCertPem: cert }]);
    expectRefused(verifyManifestEnvelope(stolenCert.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });

  it('suit.keys.revoked-signing-key-refused', () => {
    const signed = signedBySigningKey(delegate(at(-days(1)), at(days(30))));
    const revoked: ManifestTrust = { ...trust, revokedKeyIds: new Set([keyIdOf(signing.publicKey)]) };
    expectRefused(verifyManifestEnvelope(signed.envelopeBytes, revoked, NOW), 'SIGNING_KEY_REVOKED');
    // Relabelling the revoked key's id does not dodge the list: revocation reads the certified key.
    const relabelled = editEnvelope(signed.envelopeBytes, (e) => {
      e.signatures[0].keyId = keyIdOf(other.publicKey);
    });
    expectRefused(verifyManifestEnvelope(relabelled, revoked, NOW), 'SIGNING_KEY_REVOKED');
    // Another key's revocation leaves it trusted.
    const unrelated: ManifestTrust = { ...trust, revokedKeyIds: new Set([keyIdOf(other.publicKey)]) };
    expect(verifyManifestEnvelope(signed.envelopeBytes, unrelated, NOW).ok).toBe(true);
  });
});

describe('signatures per component (device policy)', () => {
  const second = newKeyPair();
  const twoRoots: ManifestTrust = {
    rootPublicKeys: [root.publicKey, second.publicKey],
    requiredSignatures: (component) => (component === 'metrology' ? 2 : 1),
  };
  const metrology = manifest({
    components: [
      {
        id: ['metrology'],
        version: '2.0.0',
        format: 'raw',
        digest: { alg: 'sha-256', value: DIGEST_B },
        size: 4096,
      },
    ],
  });

  it('suit.rights.second-signature-required-when-policy-says', () => {
    const one = signManifest(metrology, [{ privateKey: root.privateKey }]);
    expectRefused(
      verifyManifestEnvelope(one.envelopeBytes, twoRoots, NOW),
      'MANIFEST_SIGNATURES_INSUFFICIENT',
    );
    // The same signature twice is one signer.
    const twice = signManifest(metrology, [{ privateKey: root.privateKey }, { privateKey: root.privateKey }]);
    expectRefused(
      verifyManifestEnvelope(twice.envelopeBytes, twoRoots, NOW),
      'MANIFEST_SIGNATURES_INSUFFICIENT',
    );
    const two = signManifest(metrology, [{ privateKey: root.privateKey }, { privateKey: second.privateKey }]);
    expect(verifyManifestEnvelope(two.envelopeBytes, twoRoots, NOW).ok).toBe(true);
    // The app component needs one.
    expect(verifyManifestEnvelope(signedByRoot().envelopeBytes, twoRoots, NOW).ok).toBe(true);
  });

  it('cosignManifest adds a second signer to an existing envelope, keeping the first signature', () => {
    const first = signManifest(metrology, [{ privateKey: root.privateKey }]);
    const both = cosignManifest(first.envelopeBytes, [{ privateKey: second.privateKey }]);
    expect(both.digest).toBe(first.digest);
    expect(verifyManifestEnvelope(both.envelopeBytes, twoRoots, NOW)).toMatchObject({
      ok: true,
      signerKeyIds: [keyIdOf(root.publicKey), keyIdOf(second.publicKey)],
    });
    expect(() => cosignManifest(Buffer.from('{}'), [{ privateKey: second.privateKey }])).toThrow(/not valid/);
  });

  it('a bad signature beside a good one is refused, never skipped', () => {
    const good = signManifest(metrology, [{ privateKey: root.privateKey }, { privateKey: other.privateKey }]);
    expectRefused(verifyManifestEnvelope(good.envelopeBytes, trust, NOW), 'MANIFEST_SIGNATURE_INVALID');
  });
});
