import { readFileSync } from 'node:fs';
import { SERVER_CERTIFICATES_ISSUE } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { createCsr, exportPrivateKey, generateKeyPair, parseCertificates } from '@meterkeep/pki';
import { InternalHttpClient } from '../internal-http/internal-http-client';
import type { ServiceCredential } from '../internal-http/service-credential';
import type { TlsCredentials } from './mutual-tls-listener';

export interface DeviceServerCredentialsOptions {
  /** Names in the listener's certificate, as meters reach it (the first is its CN). */
  hostnames: readonly string[];
  /** An externally issued server certificate (PEM, leaf first) and its key; both or neither. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** Bootstrap's internal listener, which issues the certificate when no files are given. */
  bootstrapUrl: string;
  /** This service's platform identity, for the internal call. */
  credential: ServiceCredential;
  logger: Logger;
}

/**
 * A device listener's TLS identity: an externally issued certificate (files), or by default a
 * short-lived one from bootstrap's internal route, issued by the platform server CA that meters
 * already trust (it is in their factory bundle). The key is made here and never leaves.
 */
export class DeviceServerCredentials {
  private readonly bootstrap: InternalHttpClient;

  constructor(private readonly options: DeviceServerCredentialsOptions) {
    this.bootstrap = new InternalHttpClient({
      service: 'bootstrap',
      baseUrl: options.bootstrapUrl,
      credential: options.credential,
      timeoutMs: 5_000,
      logger: options.logger,
    });
  }

  /** Whether the certificate comes from files (watched and read again when renewed in place). */
  get external(): boolean {
    return this.options.certFile !== undefined;
  }

  /** The files to watch, when external. */
  get files(): string[] {
    const { certFile, keyFile } = this.options;
    return certFile && keyFile ? [certFile, keyFile] : [];
  }

  async fetch(): Promise<TlsCredentials> {
    const { certFile, keyFile } = this.options;
    if (certFile && keyFile) {
      const certificatePem = readFileSync(certFile, 'utf8');
      const chain = parseCertificates(certificatePem);
      return {
        keyPem: readFileSync(keyFile, 'utf8'),
        certificatePem,
        caPem: chain.at(-1)?.pem ?? '',
        notAfter: chain[0]?.notAfter ?? new Date(0),
      };
    }
    return this.issue();
  }

  private async issue(): Promise<TlsCredentials> {
    const keyPair = generateKeyPair();
    const hostnames = [...this.options.hostnames];
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
