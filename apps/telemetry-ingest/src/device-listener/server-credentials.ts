import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { createCsr, exportPrivateKey, generateKeyPair, parseCertificates } from '@meterkeep/pki';
import { INTERNAL_TOKEN_HEADER, type TlsCredentials } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG } from '@meterkeep/service-runtime';

/**
 * The device listener's TLS identity: an externally issued certificate (TELEMETRY_TLS_CERT_FILE/KEY_FILE),
 * or by default a short-lived one from bootstrap's internal route, issued by the platform server CA
 * that meters already trust (it is in their factory bundle). The key is made here and never leaves.
 */
@Injectable()
export class ServerCredentials {
  constructor(@Inject(CONFIG) private readonly config: TelemetryIngestConfig) {}

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
    const response = await fetch(
      new URL('/internal/v1/server-certificates', this.config.BOOTSTRAP_INTERNAL_URL),
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [INTERNAL_TOKEN_HEADER]: this.config.INTERNAL_API_TOKEN,
        },
        body: JSON.stringify({ csrPem: csr.pem, hostnames }),
        signal: AbortSignal.timeout(5_000),
      },
    );
    if (!response.ok)
      throw new Error(`bootstrap answered ${response.status} to the server certificate request`);
    const answer = (await response.json()) as {
      certificatePem: string;
      chainPem: string[];
      notAfter: string;
    };
    return {
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: answer.certificatePem,
      caPem: answer.chainPem.at(-1) ?? '',
      notAfter: new Date(answer.notAfter),
    };
  }
}
