// Spec §6.10: ≥10,000 random and mutated envelopes into the meter's verifier. None may throw, none may
// reach the verifier's catch-all (its "unexpected" refusal stands for a defect), and none but
// whitespace-only edits of the genuine envelope may verify, and those only to the genuine digest.
import { describe, expect, it, vi } from 'vitest';
import { DIGEST_B, NOW, at, days, manifest, newKeyPair } from '../test/fixtures';
import { signManifest, verifyManifestEnvelope } from './envelope';
import { issueSigningKeyCertificate } from './signing-key-certificate';
import { isFirmwareFailureCode } from './failure-codes';
import { mutateBytes, mutateJson, rng } from '../test/fuzz';

// 10,000 verifications, many reaching ECDSA: seconds on a loaded 2-core machine, past the 5 s default.
vi.setConfig({ testTimeout: 120_000 });

const root = newKeyPair();
const signing = newKeyPair();
const cert = issueSigningKeyCertificate({
  rootPrivateKey: root.privateKey,
  signingPublicKey: signing.publicKey,
  notBefore: at(-days(1)),
  notAfter: at(days(30)),
});
const seeds = [
  signManifest(manifest(), [{ privateKey: root.privateKey }]),
  signManifest(
    manifest({
      components: [
        {
          id: ['app'],
          version: '4.3.1',
          format: 'zstd-patch',
          digest: { alg: 'sha-256', value: DIGEST_B },
          size: 2048,
          precursorDigest: { alg: 'sha-256', value: 'a'.repeat(64) },
          resultDigest: { alg: 'sha-256', value: 'c'.repeat(64) },
          resultSize: 1_048_576,
        },
      ],
      provenance: { sourceDigest: 'd'.repeat(64), builder: 'ci/acme', sbomDigest: 'e'.repeat(64) },
    }),
    [{ privateKey: signing.privateKey, signingKeyCertPem: cert }],
  ),
];
const trust = { rootPublicKeys: [root.publicKey] };

describe('verifyManifestEnvelope under fuzzing', () => {
  it('never throws and never accepts a forgery: 10,000 mutated or random envelopes', () => {
    const random = rng(0x5eed);
    const codes = new Map<string, number>();
    let accepted = 0;
    const runs = 10_000;
    for (let i = 0; i < runs; i++) {
      const seed = seeds[i % seeds.length]!;
      const bytes =
        random() < 0.6
          ? Buffer.from(
              JSON.stringify(mutateJson(JSON.parse(seed.envelopeBytes.toString()), random)) ?? 'null',
            )
          : mutateBytes(seed.envelopeBytes, random);
      let result: ReturnType<typeof verifyManifestEnvelope>;
      try {
        result = verifyManifestEnvelope(bytes, trust, NOW);
      } catch (error) {
        throw new Error(`run ${i} threw: ${String(error)}`);
      }
      if (result.ok) {
        accepted++;
        expect(
          seeds.map((s) => s.digest),
          `run ${i} accepted a foreign manifest`,
        ).toContain(result.digest);
      } else {
        expect(result.message, `run ${i}`).not.toMatch(/^unexpected/);
        expect(isFirmwareFailureCode(result.code)).toBe(true);
        codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
      }
    }
    // The fuzzer reaches past the schema into the signature checks, not only the parser.
    expect(codes.get('MANIFEST_MALFORMED') ?? 0).toBeGreaterThan(100);
    expect(codes.get('MANIFEST_SIGNATURE_INVALID') ?? 0).toBeGreaterThan(100);
    // Only edits that leave the signed manifest as it was (trailing whitespace, a signature repeated, a
    // duplicate key that JSON.parse overrides) may still verify, and above only to the genuine digest.
    expect(accepted).toBeLessThan(runs / 5);
  });
});
