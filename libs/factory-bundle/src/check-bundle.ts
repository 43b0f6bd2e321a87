import { ECDH } from 'node:crypto';
import {
  type Certificate,
  importPublicKey,
  isPkiError,
  parseCertificate,
  validateChain,
} from '@meterkeep/pki';
import { type FactoryBundle } from './bundle.schema.js';
import { BundleError, isBundleError } from './bundle.errors.js';
import { parseBundle } from './parse-bundle.js';
import { publicPointOfPrivateKey } from './private-key.js';

/** Every way a well-formed bundle can still be unfit for a meter. One code per reason. */
export const BUNDLE_FAILURE_CODES = [
  /** Not JSON, another format, or not the schema's shape (a required field missing, among others). */
  'BUNDLE_UNREADABLE',
  'CERTIFICATE_MALFORMED',
  'CHAIN_MALFORMED',
  /** The certificate does not chain to the manufacturer root at the check's instant. */
  'CHAIN_INVALID',
  /** It chains, but the bundle's chainPem is not that path (intermediate first, root last). */
  'CHAIN_INCOMPLETE',
  'SUBJECT_MISMATCH',
  'SERIAL_MISMATCH',
  'PRIVATE_KEY_MALFORMED',
  'KEY_MISMATCH',
  'LIFETIME_NOT_COVERED',
  'TRUST_ANCHOR_MALFORMED',
  'UPDATE_KEY_MALFORMED',
  'PARAMETER_MISSING',
] as const;

export type BundleFailureCode = (typeof BUNDLE_FAILURE_CODES)[number];

export interface BundleFailure {
  readonly code: BundleFailureCode;
  readonly message: string;
}

export interface CheckBundleOptions {
  /** The manufacturer root the certificate must chain to (never taken from the bundle itself). */
  readonly manufacturerRootPem: string;
  /** The clock for chain validation. */
  readonly at: Date;
  /** Custom parameters that must be present and non-empty (the ones the batch was configured with). */
  readonly requiredParameters?: readonly string[];
}

/** The instant `years` calendar years (UTC) after `from`. */
export function addYears(from: Date, years: number): Date {
  const date = new Date(from.getTime());
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date;
}

/** Certificates may carry a compressed point (33 bytes); keys give the uncompressed form. */
const uncompressed = (point: Buffer): Buffer =>
  point.length === 65
    ? point
    : (ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'uncompressed') as Buffer);
const stripLeadingZeros = (hex: string) => hex.replace(/^(00)+(?=..)/, '');
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Remembers what every bundle of a batch shares (its chain, trust anchor, update key): bounded. */
class Memo<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly limit = 64) {}

  get(key: string, compute: () => T): T {
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = compute();
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}

type Parsed = { certificate: Certificate } | { error: string };

/**
 * The checks a factory configurator (and a meter loading its bundle) runs on one bundle: complete,
 * chains to the manufacturer root with clientAuth, key matches certificate, validity covers the
 * meter's expected life, every required parameter present. Build one per batch and reuse it: the
 * certificates bundles share are parsed once.
 */
export class BundleChecker {
  private readonly root: Certificate;
  private readonly requiredParameters: readonly string[];
  private readonly certificates = new Memo<Parsed>();
  private readonly trustAnchors = new Memo<string | undefined>();
  private readonly updateKeys = new Memo<string | undefined>();

  constructor(private readonly options: CheckBundleOptions) {
    try {
      this.root = parseCertificate(options.manufacturerRootPem);
    } catch (error) {
      throw new BundleError('INVALID_OPTIONS', `Manufacturer root is not a certificate: ${reason(error)}`);
    }
    if (Number.isNaN(options.at.getTime())) throw new BundleError('INVALID_OPTIONS', '`at` is not a date');
    this.requiredParameters = options.requiredParameters ?? [];
  }

  /** Every failure of a parsed bundle; empty when it is fit to be injected. */
  check(bundle: FactoryBundle): BundleFailure[] {
    const failures: BundleFailure[] = [];
    const fail = (code: BundleFailureCode, message: string) => failures.push({ code, message });

    for (const name of this.requiredParameters) {
      const value = bundle.customParameters[name];
      if (value === undefined || value === '')
        fail('PARAMETER_MISSING', `custom parameter ${name} is missing`);
    }
    const anchorError = this.trustAnchors.get(bundle.bootstrap.trustAnchorPem, () =>
      this.certificateError(bundle.bootstrap.trustAnchorPem),
    );
    if (anchorError) fail('TRUST_ANCHOR_MALFORMED', `bootstrap trust anchor: ${anchorError}`);
    const keyError = this.updateKeys.get(bundle.updateAuthorityPublicKeyPem, () => {
      try {
        importPublicKey(bundle.updateAuthorityPublicKeyPem);
        return undefined;
      } catch (error) {
        return reason(error);
      }
    });
    if (keyError) fail('UPDATE_KEY_MALFORMED', `update authority key: ${keyError}`);

    const { credential } = bundle;
    if (credential.kind === 'psk') return failures;

    let leaf: Certificate;
    try {
      leaf = parseCertificate(credential.certificatePem);
    } catch (error) {
      fail('CERTIFICATE_MALFORMED', `certificate: ${reason(error)}`);
      return failures;
    }
    const chain: Certificate[] = [];
    credential.chainPem.forEach((pem, i) => {
      const parsed = this.parseShared(pem);
      if ('error' in parsed) fail('CHAIN_MALFORMED', `chain certificate ${i + 1}: ${parsed.error}`);
      else chain.push(parsed.certificate);
    });
    if (chain.length < credential.chainPem.length) return failures;

    if (leaf.subject.commonName !== bundle.endpointName) {
      fail(
        'SUBJECT_MISMATCH',
        `certificate CN ${JSON.stringify(leaf.subject.commonName ?? null)} is not the endpoint name ${bundle.endpointName}`,
      );
    }
    if (stripLeadingZeros(leaf.serialHex) !== stripLeadingZeros(bundle.serialNumber)) {
      fail('SERIAL_MISMATCH', `certificate serial ${leaf.serialHex} is not ${bundle.serialNumber}`);
    }
    try {
      const { path } = validateChain({
        leaf,
        intermediates: chain,
        trustAnchors: [this.root],
        at: this.options.at,
        requiredEku: 'clientAuth',
      });
      const expected = path.slice(1).map((c) => c.fingerprintSha256);
      const carried = chain.map((c) => c.fingerprintSha256);
      if (expected.join() !== carried.join()) {
        fail(
          'CHAIN_INCOMPLETE',
          'chainPem is not the path to the manufacturer root (intermediate first, root last)',
        );
      }
    } catch (error) {
      if (!isPkiError(error)) throw error;
      fail('CHAIN_INVALID', `${error.code}: ${error.message}`);
    }

    const lifeEnd = addYears(new Date(bundle.issuedAt), bundle.expectedLifeYears);
    for (const certificate of [leaf, ...chain]) {
      if (certificate.notAfter.getTime() < lifeEnd.getTime()) {
        const which =
          certificate === leaf ? 'certificate' : `chain certificate ${certificate.subject.toString()}`;
        fail(
          'LIFETIME_NOT_COVERED',
          `${which} expires ${certificate.notAfter.toISOString()}, before the end of the meter's ` +
            `${bundle.expectedLifeYears}-year life (${lifeEnd.toISOString()})`,
        );
      }
    }

    if (credential.keyLocation === 'bundle') {
      let point: Buffer | undefined;
      try {
        point = publicPointOfPrivateKey(credential.privateKeyPem);
      } catch (error) {
        fail('PRIVATE_KEY_MALFORMED', `private key: ${reason(error)}`);
      }
      if (point && !point.equals(uncompressed(leaf.publicKeyPoint))) {
        fail('KEY_MISMATCH', 'the private key does not belong to the certificate');
      }
    }
    return failures;
  }

  /** Parses (JSON text or a value) and checks: what a loader holding raw bytes calls. */
  inspect(input: unknown): { bundle: FactoryBundle | undefined; failures: BundleFailure[] } {
    let bundle: FactoryBundle;
    try {
      bundle = parseBundle(input);
    } catch (error) {
      if (!isBundleError(error)) throw error;
      return { bundle: undefined, failures: [{ code: 'BUNDLE_UNREADABLE', message: error.message }] };
    }
    return { bundle, failures: this.check(bundle) };
  }

  private parseShared(pem: string): Parsed {
    return this.certificates.get(pem, () => {
      try {
        return { certificate: parseCertificate(pem) };
      } catch (error) {
        return { error: reason(error) };
      }
    });
  }

  private certificateError(pem: string): string | undefined {
    const parsed = this.parseShared(pem);
    return 'error' in parsed ? parsed.error : undefined;
  }
}

/** One-shot form of BundleChecker#check. */
export function checkBundle(bundle: FactoryBundle, options: CheckBundleOptions): BundleFailure[] {
  return new BundleChecker(options).check(bundle);
}

/** One-shot form of BundleChecker#inspect. */
export function inspectBundle(
  input: unknown,
  options: CheckBundleOptions,
): { bundle: FactoryBundle | undefined; failures: BundleFailure[] } {
  return new BundleChecker(options).inspect(input);
}
