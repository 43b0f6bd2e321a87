import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { type CertificationRequest, parseCsr } from '@meterkeep/pki';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { ServerIdentity } from '../pki/server-identity';
import { ServerCertificateErrors, serverCsrRefusal } from './server-certificates.errors';
import type { ServerCertificateAnswer, ServerCertificateRequest } from '@meterkeep/contracts';

/**
 * A TLS server certificate for an operational server (telemetry ingest, OTA), from the platform
 * server CA that meters already trust (every factory bundle carries it, and the bootstrap answer
 * names it in serverTrustAnchorsPem). The CSR's self-signature and P-256 key are verified; its
 * subject is ignored: the certificate names the hostnames asked for, and is valid for 7 days. A
 * caller gets only the host names BOOTSTRAP_SERVER_CERT_HOSTNAMES configures for it: this CA is the
 * one every meter trusts servers by.
 */
@Injectable()
export class IssueServerCertificateUseCase {
  constructor(
    private readonly identity: ServerIdentity,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(
    caller: string,
    request: ServerCertificateRequest,
    now = new Date(),
  ): Promise<ServerCertificateAnswer> {
    const allowed = new Set(
      (this.config.BOOTSTRAP_SERVER_CERT_HOSTNAMES[caller] ?? []).map((name) => name.toLowerCase()),
    );
    const refused = request.hostnames.filter((name) => !allowed.has(name.toLowerCase()));
    if (refused.length > 0) {
      this.logger.warn({ caller, refused }, 'server certificate refused: host names not configured');
      throw ServerCertificateErrors.hostnameNotAllowed(caller, refused);
    }
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
        caller,
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
