import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { SERVER_CERTIFICATES_ISSUE } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { createCsr, exportPrivateKey, generateKeyPair, parseCertificates } from '@meterkeep/pki';
import {
  InternalHttpClient,
  SERVICE_CREDENTIAL,
  type ServiceCredential,
  type TlsCredentials,
} from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';

/**
 * The device listener's TLS identity: an externally issued certificate (TELEMETRY_TLS_CERT_FILE/KEY_FILE),
 * or by default a short-lived one from bootstrap's internal route, issued by the platform server CA
 * that meters already trust (it is in their factory bundle). The key is made here and never leaves.
 */
@Injectable()
export class ServerCredentials {
  private readonly bootstrap: InternalHttpClient;

  constructor(
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.bootstrap = new InternalHttpClient({
      service: 'bootstrap',
      baseUrl: config.BOOTSTRAP_INTERNAL_URL,
      credential,
      timeoutMs: 5_000,
      logger,
    });
  }

  get external(): boolean {
    return this.config.TELEMETRY_TLS_CERT_FILE !== undefined;
  }

  async fetch(): Promise<TlsCredentials> {
    if (this.config.TELEMETRY_TLS_CERT_FILE && this.config.TELEMETRY_TLS_KEY_FILE) {
      const certificatePem = readFileSync(this.config.TELEMETRY_TLS_CERT_FILE, 'utf8');
      const chain = parseCertificates(certificatePem);
      return {
        keyPem: readFileSync(this.config.TELEMETRY_TLS_KEY_FILE, 'utf8'),
        certificatePem,
        caPem: chain.at(-1)?.pem ?? '',
        notAfter: chain[0]?.notAfter ?? new Date(0),
      };
    }
    return this.issue();
  }

  private async issue(): Promise<TlsCredentials> {
    const keyPair = generateKeyPair();
    const hostnames = this.config.TELEMETRY_TLS_HOSTNAMES;
    const csr = createCsr({ privateKey: keyPair.privateKey, subject: { commonName: hostnames[0] } });
    const answer = await this.bootstrap.call(SERVER_CERTIFICATES_ISSUE, {
      body: { csrPem: csr.pem, hostnames },
    });
    return {
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: answer.certificatePem,
      caPem: answer.chainPem.at(-1) ?? '',
      notAfter: new Date(answer.notAfter),
    };
  }
}
