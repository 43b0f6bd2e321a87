import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import { parseCertificate, validateChain } from '@meterkeep/pki';
import { peerCertificateChain } from '@meterkeep/service-runtime';
import { DeviceDirectory } from '../directory/device-directory';
import { IngestErrors } from '../ingest/ingest.errors';
import type { Sender } from './authorize-sender';

/**
 * Verifies the client certificate a connection presented against the tenants' operational issuing
 * CAs (the one whose name the certificate gives as its issuer), once per connection: keep-alive
 * connections carry many batches. Whether that certificate is still current is asked per request.
 */
@Injectable()
export class SenderIdentity {
  private readonly verified = new WeakMap<Socket, Sender>();

  constructor(private readonly directory: DeviceDirectory) {}

  of(socket: Socket, now = new Date()): Sender {
    const known = this.verified.get(socket);
    if (known) return known;
    const sender = this.verify(socket, now);
    this.verified.set(socket, sender);
    return sender;
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
