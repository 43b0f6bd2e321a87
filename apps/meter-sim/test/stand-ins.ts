import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { type BootstrapAnswer, telemetryBatch } from '@meterkeep/contracts';
import { BUNDLE_FORMAT, type FactoryBundle } from '@meterkeep/factory-bundle';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  issueFromCsr,
  parseCsr,
  type CertificateAuthority,
} from '@meterkeep/pki';
import { BootstrapClient } from '../src/device/bootstrap-client';
import { MeterStorage } from '../src/device/meter-storage';

/**
 * Stand-ins for bootstrap and the telemetry ingest over real TLS, each with its own server CA, for
 * the meter's side of the exchanges to be tested: meters are made, bootstrapped, and send batches.
 */
export class StandIns {
  readonly now = new Date(Math.floor(Date.now() / 1000) * 1000);
  readonly validity = { notBefore: this.now, notAfter: new Date(this.now.getTime() + 365 * 864e5) };
  readonly bootstrapCa = this.rootCa('Bootstrap Server CA');
  readonly platformCa = this.rootCa('Platform Server CA');
  readonly operationalCa = this.rootCa('Operational Root');
  readonly manufacturer = this.rootCa('Acme Meters Root');
  private readonly servers: Server[] = [];

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  }

  /** A bootstrap server that certifies each meter's CSR and points it at a telemetry server. */
  /** A bootstrap server that names `serverTrustAnchorsPem` (none when absent) as the server CAs. */
  async bootstrapServer(
    telemetryUri: string,
    serverTrustAnchorsPem?: string[],
    ota: BootstrapAnswer['servers']['ota'] = { uri: 'https://o' },
  ) {
    /** SHA-256 fingerprints of the operational certificates issued, in order. */
    const issued: string[] = [];
    const url = await this.listen(this.bootstrapCa, this.manufacturer, (body) => {
      const csrPem = body.csrPem as string;
      const endpointName = parseCsr(csrPem).subject.commonName!;
      const certificate = issueFromCsr({
        issuer: this.operationalCa,
        csr: csrPem,
        expectedCommonName: endpointName,
        profile: 'operational-device',
        ...this.validity,
      });
      issued.push(new X509Certificate(certificate.pem).fingerprint256);
      const later = this.validity.notAfter.toISOString();
      return [
        200,
        {
          endpointName,
          tenantId: 't1',
          certificatePem: certificate.pem,
          chainPem: [this.operationalCa.certificate.pem],
          serverTime: this.now.toISOString(),
          renewal: { notAfter: later, renewAfter: later },
          servers: {
            telemetry: { uri: telemetryUri },
            ota,
            bootstrap: { uri: 'https://b' },
          },
          serverTrustAnchorsPem: serverTrustAnchorsPem ?? [],
        } satisfies BootstrapAnswer,
      ];
    });
    return { url, issued };
  }

  /** A telemetry ingest that accepts every batch, unless told to refuse a certificate (by fingerprint). */
  async telemetryServer(ca: CertificateAuthority, refuse: (peer: string) => boolean = () => false) {
    const batches: (ReturnType<typeof telemetryBatch.parse> & { peer: string; meterId: string })[] = [];
    const url = await this.listen(ca, this.operationalCa, (body, peer, meterId) => {
      const batch = telemetryBatch.parse(body);
      batches.push({ ...batch, peer, meterId });
      if (refuse(peer)) return [403, { code: 'CERTIFICATE_REVOKED', message: 'revoked' }];
      const accepted = batch.readings.length + batch.events.length;
      return [
        200,
        { batchId: batch.batchId, meterId, accepted, duplicates: 0, rejected: [], replayed: false },
      ];
    });
    return { url, batches };
  }

  /** A provisioned meter (factory bundle loaded, factory path locked) in its own storage folder. */
  provisionedMeter(
    endpointName: string,
    stateDir = mkdtempSync(join(tmpdir(), 'meters-')),
    updateAuthorityPublicKeyPem?: string,
  ) {
    const storage = new MeterStorage(join(stateDir, endpointName));
    const bundle = this.certificateBundle(endpointName);
    storage.write(
      'factory-bundle.json',
      JSON.stringify({
        ...bundle,
        updateAuthorityPublicKeyPem: updateAuthorityPublicKeyPem ?? bundle.updateAuthorityPublicKeyPem,
      }),
    );
    storage.write('factory.locked', this.now.toISOString());
    return storage;
  }

  async bootstrappedMeter(endpointName: string, bootstrapUrl: string) {
    const client = new BootstrapClient(
      this.certificateBundle(endpointName),
      new MeterStorage(mkdtempSync(join(tmpdir(), 'meter-'))),
      { bootstrapUrl, sleep: () => Promise.resolve() },
    );
    await client.bootstrap();
    return client;
  }

  private certificateBundle(endpointName: string): FactoryBundle {
    const keys = generateKeyPair();
    const certificate = issueCertificate({
      issuer: this.manufacturer,
      subjectPublicKey: keys.publicKey,
      subject: { commonName: endpointName },
      profile: 'factory-device',
      ...this.validity,
    });
    return {
      format: BUNDLE_FORMAT,
      endpointName,
      batchId: 'b1',
      model: 'EM300',
      serialNumber: certificate.serialHex,
      credential: {
        kind: 'certificate',
        keyLocation: 'bundle',
        privateKeyPem: exportPrivateKey(keys.privateKey) as string,
        certificatePem: certificate.pem,
        chainPem: [this.manufacturer.certificate.pem],
      },
      bootstrap: { serverUri: 'https://localhost:1', trustAnchorPem: this.bootstrapCa.certificate.pem },
      vendorId: 'acme',
      classId: 'em300',
      updateAuthorityPublicKeyPem: generateKeyPair().publicKey.export({
        type: 'spki',
        format: 'pem',
      }) as string,
      customParameters: {},
      expectedLifeYears: 1,
      issuedAt: this.now.toISOString(),
    };
  }

  /** A mutual-TLS server: its certificate from `ca`, clients' from `clientCa`, peers named by fingerprint and CN. */
  private async listen(
    ca: CertificateAuthority,
    clientCa: CertificateAuthority,
    handler: (body: Record<string, unknown>, peer: string, peerCn: string) => [number, unknown],
  ): Promise<string> {
    const server = createServer(
      {
        ...this.serverCertificate(ca),
        requestCert: true,
        rejectUnauthorized: true,
        ca: clientCa.certificate.pem,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          const [status, body] = handler(
            JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
            peer.fingerprint256,
            String(peer.subject?.CN),
          );
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        });
      },
    );
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://localhost:${(server.address() as AddressInfo).port}`;
  }

  private serverCertificate(ca: CertificateAuthority) {
    const keys = generateKeyPair();
    const certificate = issueCertificate({
      issuer: ca,
      subjectPublicKey: keys.publicKey,
      subject: { commonName: 'localhost' },
      profile: 'server',
      sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
      ...this.validity,
    });
    return { key: exportPrivateKey(keys.privateKey) as string, cert: certificate.pem };
  }

  private rootCa(commonName: string): CertificateAuthority {
    return createRootCa({ subject: { commonName }, validity: this.validity });
  }
}
