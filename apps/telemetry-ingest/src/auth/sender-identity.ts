import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import { parseCertificate, validateChain } from '@meterkeep/pki';
import { DomainError, peerCertificateChain } from '@meterkeep/service-runtime';
import { DeviceDirectory } from '../directory/device-directory';
import { IngestErrors } from '../ingest/ingest.errors';
import type { Sender } from './authorize-sender';

/**
 * Verifies the client certificate a connection presented against the tenants' operational issuing
 * CAs (the one whose name the certificate gives as its issuer), once per connection: keep-alive
 * connections carry many batches. The verdict, refusal included, is kept for the connection (its
 * certificate cannot change), so a client resending a bad certificate costs a lookup per request.
 * Whether an accepted certificate is still current is asked per request.
 */
@Injectable()
export class SenderIdentity {
  private readonly verdicts = new WeakMap<Socket, Sender | DomainError>();

  constructor(private readonly directory: DeviceDirectory) {}

  of(socket: Socket, now = new Date()): Sender {
    let verdict = this.verdicts.get(socket);
    if (!verdict) {
      try {
        verdict = this.verify(socket, now);
      } catch (error) {
        if (!(error instanceof DomainError) || !error.permanent) throw error;
        verdict = error;
      }
      this.verdicts.set(socket, verdict);
    }
    if (verdict instanceof DomainError) throw verdict;
    return verdict;
  }

  private verify(socket: Socket, now: Date): Sender {
    const chain = peerCertificateChain(socket);
    if (chain.length === 0) throw IngestErrors.clientCertificateRequired();
    let leaf;
    try {
      leaf = parseCertificate(chain[0]!);
    } catch {
      throw untrusted('The client certificate cannot be parsed');
    }
    let lastFailure = 'No tenant issuing CA issued this certificate';
    for (const issuer of this.directory.issuersNamed(leaf.issuer.der)) {
      try {
        validateChain({ leaf, trustAnchors: [issuer.certificate], at: now, requiredEku: 'clientAuth' });
      } catch (error) {
        lastFailure = error instanceof Error ? error.message : String(error);
        continue;
      }
      const endpointName = leaf.subject.commonName;
      if (!endpointName) throw untrusted('The client certificate has no CN');
      return {
        tenantId: issuer.tenantId,
        endpointName,
        serial: leaf.serialHex,
        notAfter: leaf.notAfter.getTime(),
      };
    }
    throw untrusted(lastFailure);
  }
}

const untrusted = IngestErrors.certificateUntrusted;
