import { type KeyObject, createHash, createHmac, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import {
  CERTIFICATE_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
  PSK_BOOTSTRAP,
  PSK_NONCE_ISSUE,
  type BootstrapAnswer,
  type BootstrapRefusalCode,
  type CertificateRequest,
  type PskBootstrapRequest,
  type PskNonceRequest,
  bootstrapAnswer,
  pskNonceAnswer,
  readDeviceRefusal,
} from '@meterkeep/contracts';
import type { FactoryBundle } from '@meterkeep/factory-bundle';
import { createCsr, exportPrivateKey, generateKeyPair } from '@meterkeep/pki';
import { type DeviceResponse, type DeviceTlsCredential, deviceRequest } from './device-https';
import { retryDelay, sleepFor } from './backoff';
import type { MeterStorage } from './meter-storage';

const OPERATIONAL_FILE = 'operational.json';
/** The distributor's directive keys as last pinned from a bootstrap or renewal answer (PEM, current first). */
const DIRECTIVE_KEYS_FILE = 'directive-keys.pem';

/** What the meter keeps of bootstrap's answer (LwM2M's Security and Server objects), and its key. */
const operationalCredential = bootstrapAnswer.extend({
  /** Generated on the meter; never sent anywhere. */
  privateKeyPem: z.string(),
});
export type OperationalCredential = z.infer<typeof operationalCredential>;

export class BootstrapRefused extends Error {
  constructor(
    readonly status: number,
    /** The server's refusal code (the contract's, or another one a newer server or a proxy sent). */
    readonly code:
      | BootstrapRefusalCode
      | 'NO_OPERATIONAL_CREDENTIAL'
      /** The answer names a directive key that is not an EC P-256 SPKI PEM key: nothing is kept. */
      | 'DIRECTIVE_KEY_INVALID'
      | (string & {}),
    message: string,
  ) {
    super(`bootstrap refused (${status} ${code}): ${message}`);
    this.name = 'BootstrapRefused';
  }
}

export interface BootstrapOptions {
  /** Where to connect instead of the bundle's server URI (the same server, reached another way). */
  bootstrapUrl?: string;
  /** How long a meter keeps retrying 503/429 answers and lost connections before giving up. */
  retryForMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** The longest a meter's own backoff grows to (a longer Retry-After is still honoured). */
const MAX_BACKOFF_MS = 300_000;

/**
 * A meter's bootstrap client: a fresh operational key made on the meter, a CSR for it, the factory
 * credential (certificate, or PSK proof over a server nonce) to authenticate, and the answer stored.
 * 503 and 429 are "try later": the meter waits at least as told, longer each time (see retryDelay),
 * and tries again; any other refusal is final and raised at once.
 */
export class BootstrapClient {
  constructor(
    private readonly bundle: FactoryBundle,
    private readonly storage: MeterStorage,
    private readonly options: BootstrapOptions = {},
  ) {}

  operational(): OperationalCredential | undefined {
    const json = this.storage.read(OPERATIONAL_FILE);
    return json ? operationalCredential.parse(JSON.parse(json)) : undefined;
  }

  /**
   * What the meter presents to, and trusts in, the operational servers (telemetry, OTA): its
   * operational key and certificate chain, and the server CAs bootstrap named, or the factory bundle's
   * bootstrap trust anchor (the same platform server CA) when bootstrap named none.
   */
  operationalTls(): DeviceTlsCredential | undefined {
    const current = this.operational();
    if (!current) return undefined;
    const anchors = current.serverTrustAnchorsPem;
    return {
      keyPem: current.privateKeyPem,
      certChainPem: [current.certificatePem, ...current.chainPem].join(''),
      trustAnchorPem: anchors.length > 0 ? anchors : this.bundle.bootstrap.trustAnchorPem,
    };
  }

  /**
   * The directive keys the meter pinned from bootstrap's answer (`servers.ota.directivePublicKeysPem`):
   * one, or two during a rotation. Empty when no answer named any (a server before contract 1.1).
   */
  directivePublicKeys(): KeyObject[] {
    const pem = this.storage.read(DIRECTIVE_KEYS_FILE);
    return pem ? splitPem(pem).map((key) => createPublicKey(key)) : [];
  }

  /** Drops the operational credential, as a meter whose flash was wiped would. */
  forgetOperational(): void {
    this.storage.write(OPERATIONAL_FILE, '');
  }

  async bootstrap(): Promise<OperationalCredential> {
    const { privateKey, publicKey } = generateKeyPair();
    const csrPem = createCsr({
      privateKey,
      publicKey,
      subject: { commonName: this.bundle.endpointName },
    }).pem;
    const answer =
      this.bundle.credential.kind === 'psk'
        ? await this.withRetries(() => this.pskBootstrap(csrPem))
        : await this.withRetries(() =>
            deviceRequest(this.url(CERTIFICATE_BOOTSTRAP.path), this.factoryTls(), {
              csrPem,
            } satisfies CertificateRequest),
          );
    return this.keep(answer, exportPrivateKey(privateKey) as string);
  }

  /** Renews with the current operational certificate; the caller falls back to bootstrap() on refusal. */
  async renew(): Promise<OperationalCredential> {
    const current = this.operational();
    if (!current) throw new BootstrapRefused(0, 'NO_OPERATIONAL_CREDENTIAL', 'nothing to renew with');
    const { privateKey, publicKey } = generateKeyPair();
    const csrPem = createCsr({
      privateKey,
      publicKey,
      subject: { commonName: this.bundle.endpointName },
    }).pem;
    const tls: DeviceTlsCredential = {
      keyPem: current.privateKeyPem,
      certChainPem: [current.certificatePem, ...current.chainPem].join(''),
      trustAnchorPem: this.bundle.bootstrap.trustAnchorPem,
    };
    const answer = await this.withRetries(() =>
      deviceRequest(this.url(CERTIFICATE_RENEWAL.path), tls, { csrPem } satisfies CertificateRequest),
    );
    return this.keep(answer, exportPrivateKey(privateKey) as string);
  }

  private async pskBootstrap(csrPem: string): Promise<DeviceResponse> {
    if (this.bundle.credential.kind !== 'psk') throw new Error('not a PSK meter');
    const { pskIdentity, pskBase64 } = this.bundle.credential;
    const tls: DeviceTlsCredential = { trustAnchorPem: this.bundle.bootstrap.trustAnchorPem };
    const nonce = await deviceRequest(this.url(PSK_NONCE_ISSUE.path), tls, {
      pskIdentity,
    } satisfies PskNonceRequest);
    if (nonce.status !== 200) return nonce;
    const { nonce: value } = pskNonceAnswer.parse(nonce.body);
    const proof = pskProof(Buffer.from(pskBase64, 'base64'), value, csrPem);
    return deviceRequest(this.url(PSK_BOOTSTRAP.path), tls, {
      pskIdentity,
      nonce: value,
      csrPem,
      proof,
    } satisfies PskBootstrapRequest);
  }

  private factoryTls(): DeviceTlsCredential {
    const { credential } = this.bundle;
    if (credential.kind !== 'certificate' || credential.keyLocation !== 'bundle') {
      throw new Error('this meter has no factory key in its bundle');
    }
    return {
      keyPem: credential.privateKeyPem,
      // Leaf and intermediate: the server validates the path up to a root its tenant trusts.
      certChainPem: [credential.certificatePem, ...credential.chainPem.slice(0, -1)].join(''),
      trustAnchorPem: this.bundle.bootstrap.trustAnchorPem,
    };
  }

  private url(path: string): string {
    const base = this.options.bootstrapUrl ?? this.bundle.bootstrap.serverUri;
    return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
  }

  private async withRetries(attempt: () => Promise<DeviceResponse>): Promise<BootstrapAnswer> {
    const sleep = this.options.sleep ?? sleepFor;
    const deadline = Date.now() + (this.options.retryForMs ?? 60_000);
    for (let tries = 1; ; tries++) {
      let response: DeviceResponse | undefined;
      let lastError: Error | undefined;
      try {
        response = await attempt();
      } catch (error) {
        lastError = error as Error;
      }
      if (response?.status === 200) return bootstrapAnswer.parse(response.body);
      const retryable = !response || response.status === 503 || response.status === 429;
      if (!retryable || Date.now() >= deadline) {
        if (!response) throw lastError ?? new Error('no answer');
        const { code, message } = readDeviceRefusal(response.body);
        throw new BootstrapRefused(response.status, code, message);
      }
      // Never sooner than Retry-After says; the backoff grows with the attempts all the same.
      const hinted = (response?.retryAfterSeconds ?? 0) * 1000;
      await sleep(retryDelay(tries, hinted, this.options.random ?? Math.random, MAX_BACKOFF_MS));
    }
  }

  private keep(answer: BootstrapAnswer, privateKeyPem: string): OperationalCredential {
    const keys = answer.servers.ota.directivePublicKeysPem;
    // Checked before anything is kept: a key the meter cannot use is a malformed answer.
    if (keys) for (const key of keys) directiveKey(key);
    const credential: OperationalCredential = { ...answer, privateKeyPem };
    this.storage.write(OPERATIONAL_FILE, JSON.stringify(credential));
    // A new set replaces the pinned one (rotation); an answer naming none leaves the pinned keys.
    if (keys) this.storage.write(DIRECTIVE_KEYS_FILE, keys.map((key) => key.trim() + '\n').join(''));
    return credential;
  }
}

/** HMAC-SHA256 with the PSK over nonce ‖ 0x00 ‖ SHA-256(CSR DER): binds the proof to this nonce and CSR. */
export function pskProof(psk: Buffer, nonce: string, csrPem: string): string {
  const csrDer = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHmac('sha256', psk)
    .update(
      Buffer.concat([
        Buffer.from(nonce, 'utf8'),
        Buffer.from([0]),
        createHash('sha256').update(csrDer).digest(),
      ]),
    )
    .digest('base64');
}

/** A directive key as the meter pins it: an EC P-256 public key (SPKI PEM), nothing else. */
function directiveKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    if (!/^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----$/.test(pem.trim()))
      throw new Error();
    key = createPublicKey(pem);
  } catch {
    throw new BootstrapRefused(200, 'DIRECTIVE_KEY_INVALID', 'a directive key is not an SPKI PEM public key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new BootstrapRefused(200, 'DIRECTIVE_KEY_INVALID', 'a directive key is not EC P-256');
  return key;
}

const splitPem = (pem: string) => pem.match(/-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----/g) ?? [];
