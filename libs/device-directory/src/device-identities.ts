import type { KeyObject } from 'node:crypto';
import { type Certificate, parseCertificate, validateChain } from '@meterkeep/pki';
import { type CertifiedSender, type DeviceRefusal, deviceRefusal, isDeviceRefusal } from './device-check';
import type { DeviceDirectory, IssuingCa } from './device-directory';

/** Who holds a connection, as its verified operational certificate says. */
export interface DeviceSender extends CertifiedSender {
  tenantId: string;
  /** The certificate's public key (what the meter signs receipts with). */
  publicKey: KeyObject;
}

export interface DeviceIdentitiesOptions {
  directory: DeviceDirectory;
  /** The client chain a connection presented, leaf first, DER (empty without one). */
  peerChain(socket: object): Buffer[];
  /** Whether the directory has caught up: an issuer not known before then is "retry later". */
  caughtUp(): boolean;
}

/**
 * Verifies the client certificate a connection presented against the tenants' operational issuing
 * CAs (those whose name the certificate gives as its issuer), once per connection: keep-alive
 * connections carry many requests. The verdict, refusal included, is kept for the connection (its
 * certificate cannot change), so a client resending a bad certificate costs a lookup per request.
 * Whether an accepted certificate is still current is asked per request (checkSender).
 */
export class DeviceIdentities {
  private readonly verdicts = new WeakMap<object, DeviceSender | DeviceRefusal>();

  constructor(private readonly options: DeviceIdentitiesOptions) {}

  of(socket: object, now = new Date()): DeviceSender | DeviceRefusal {
    const kept = this.verdicts.get(socket);
    if (kept) return kept;
    const verdict = this.verify(socket, now);
    // "Not known yet" is the one verdict that may change on this connection.
    if (!isDeviceRefusal(verdict) || verdict.code !== 'NOT_YET_KNOWN') this.verdicts.set(socket, verdict);
    return verdict;
  }

  private verify(socket: object, now: Date): DeviceSender | DeviceRefusal {
    const chain = this.options.peerChain(socket);
    if (chain.length === 0)
      return deviceRefusal(
        'CLIENT_CERTIFICATE_REQUIRED',
        'Present the operational certificate issued at bootstrap',
      );
    let leaf: Certificate;
    try {
      leaf = parseCertificate(chain[0]!);
    } catch {
      return untrusted('The client certificate cannot be parsed');
    }
    const issuers = this.options.directory.issuersNamed(leaf.issuer.der);
    if (issuers.length === 0 && !this.options.caughtUp())
      return deviceRefusal('NOT_YET_KNOWN', 'The issuer of this certificate is not known yet; retry later');
    let lastFailure = 'No tenant issuing CA issued this certificate';
    for (const issuer of issuers) {
      const failure = chainFailure(leaf, issuer, now);
      if (failure) {
        lastFailure = failure;
        continue;
      }
      const endpointName = leaf.subject.commonName;
      if (!endpointName) return untrusted('The client certificate has no CN');
      return {
        tenantId: issuer.tenantId,
        endpointName,
        serial: leaf.serialHex,
        notAfter: leaf.notAfter.getTime(),
        publicKey: leaf.publicKey,
      };
    }
    // Issued by a tenant CA, and valid but for its age: the meter is told it expired (it renews).
    if (
      leaf.notAfter.getTime() < now.getTime() &&
      issuers.some((issuer) => !chainFailure(leaf, issuer, leaf.notAfter))
    )
      return deviceRefusal('CERTIFICATE_EXPIRED', 'The client certificate has expired');
    return untrusted(lastFailure);
  }
}

/** Why `leaf` does not chain to `issuer` at `at` for client authentication, or undefined when it does. */
function chainFailure(leaf: Certificate, issuer: IssuingCa, at: Date): string | undefined {
  try {
    validateChain({ leaf, trustAnchors: [issuer.certificate], at, requiredEku: 'clientAuth' });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function untrusted(reason: string): DeviceRefusal {
  return deviceRefusal('CERTIFICATE_UNTRUSTED', `Client certificate refused: ${reason}`);
}
