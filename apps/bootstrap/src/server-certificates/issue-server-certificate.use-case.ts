import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { type CertificationRequest, parseCsr } from '@meterkeep/pki';
import { LOGGER } from '@meterkeep/service-runtime';
import { ServerIdentity } from '../pki/server-identity';
import { serverCsrRefusal } from './server-certificates.errors';
import type { ServerCertificateAnswer, ServerCertificateRequest } from '@meterkeep/contracts';

/**
 * A TLS server certificate for an operational server (telemetry ingest, OTA), from the platform
 * server CA that meters already trust (every factory bundle carries it, and the bootstrap answer
 * names it in serverTrustAnchorsPem). The CSR's self-signature and P-256 key are verified; its
 * subject is ignored: the certificate names the hostnames asked for, and is valid for 7 days.
 */
@Injectable()
export class IssueServerCertificateUseCase {
  constructor(
    private readonly identity: ServerIdentity,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(request: ServerCertificateRequest, now = new Date()): Promise<ServerCertificateAnswer> {
    let csr: CertificationRequest;
    try {
      csr = parseCsr(request.csrPem);
    } catch (error) {
      throw serverCsrRefusal(error);
    }
    const { certificate, caPem } = await this.identity.issueServerCertificate({
      subjectPublicKey: csr,
      hostnames: request.hostnames,
      now,
    });
    this.logger.info(
      {
        hostnames: request.hostnames,
        serial: certificate.serialHex,
        notAfter: certificate.notAfter.toISOString(),
      },
      'server certificate issued',
    );
    return {
      certificatePem: certificate.pem,
      chainPem: [caPem],
      notAfter: certificate.notAfter.toISOString(),
    };
  }
}
