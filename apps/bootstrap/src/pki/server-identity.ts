import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import {
  type Certificate,
  type CertificateAuthority,
  type PublicKeyHolder,
  createIssuer,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  importPrivateKey,
  parseCertificate,
  parseCertificates,
} from '@meterkeep/pki';
import { DATABASE } from '@meterkeep/db/nest';
import type { Logger } from '@meterkeep/observability';
import type { TlsCredentials } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import type { Executor } from '../core/database';
import { KeySealer, openOrExplain } from '../core/key-sealer';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { YEAR_MS, wholeSeconds } from './seconds';

const SERVER_CA_ID = 'bootstrap-server-ca';
const SEAL_PURPOSE = 'server-ca';
const CA_YEARS = 20;
/**
 * Server certificates (the listener's own, kept in memory only, and those issued to the operational
 * servers) are short-lived, and reissued well before they expire.
 */
export const SERVER_CERTIFICATE_VALIDITY_MS = 7 * 86_400_000;
/** Clocks drift: a server certificate is valid from a little before it was issued. */
const BACKDATE_MS = 5 * 60_000;

export interface ServerCertificateRequest {
  /** A P-256 public key, or a verified CSR carrying one. */
  subjectPublicKey: KeyObject | PublicKeyHolder;
  /** DNS names and IP addresses; the first is also the subject CN. */
  hostnames: readonly string[];
  now: Date;
}

/**
 * The platform's server CA (created once, its key sealed under BOOTSTRAP_KEK in PostgreSQL): meters
 * trust servers by it. It issues the device listener's TLS identity (a short-lived certificate for
 * BOOTSTRAP_TLS_HOSTNAMES at start-up, unless BOOTSTRAP_TLS_CERT_FILE/KEY_FILE replace it with an
 * externally issued one), and the operational servers' certificates (telemetry, OTA).
 */
@Injectable()
export class ServerIdentity {
  private ca: CertificateAuthority | undefined;

  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly sealer: KeySealer,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get external(): boolean {
    return this.config.BOOTSTRAP_TLS_CERT_FILE !== undefined;
  }

  async credentials(now = new Date()): Promise<TlsCredentials> {
    if (this.external) return this.externalCredentials();
    const keyPair = generateKeyPair();
    const { certificate, caPem } = await this.issueServerCertificate({
      subjectPublicKey: keyPair.publicKey,
      hostnames: this.config.BOOTSTRAP_TLS_HOSTNAMES,
      now,
    });
    return {
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: certificate.pem,
      caPem,
      notAfter: certificate.notAfter,
    };
  }

  /** The platform server CA's certificate (PEM): what every server certificate it issues chains to. */
  async serverCaPem(): Promise<string> {
    return (await this.serverCa()).certificate.pem;
  }

  /** A `server` profile certificate for the hostnames, valid SERVER_CERTIFICATE_VALIDITY_MS. */
  async issueServerCertificate(
    request: ServerCertificateRequest,
  ): Promise<{ certificate: Certificate; caPem: string }> {
    const ca = await this.serverCa();
    const { hostnames } = request;
    const notBefore = wholeSeconds(request.now.getTime() - BACKDATE_MS);
    const certificate = createIssuer(ca).issue({
      profile: 'server',
      subject: { organization: 'Meterkeep', commonName: hostnames[0] },
      sans: {
        dns: hostnames.filter((h) => isIP(h) === 0),
        ip: hostnames.filter((h) => isIP(h) !== 0),
      },
      subjectPublicKey: request.subjectPublicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + SERVER_CERTIFICATE_VALIDITY_MS),
    });
    return { certificate, caPem: ca.certificate.pem };
  }

  private externalCredentials(): TlsCredentials {
    const certificates = parseCertificates(readFileSync(this.config.BOOTSTRAP_TLS_CERT_FILE!, 'utf8'));
    const keyPem = readFileSync(this.config.BOOTSTRAP_TLS_KEY_FILE!, 'utf8');
    if (certificates.length === 0) throw new Error('BOOTSTRAP_TLS_CERT_FILE holds no certificate');
    return {
      keyPem,
      certificatePem: certificates.map((c) => c.pem).join(''),
      // The file's last certificate: the operator puts the CA meters should trust at its end.
      caPem: certificates.at(-1)!.pem,
      notAfter: certificates[0]!.notAfter,
    };
  }

  /** The bootstrap server CA: loaded from PostgreSQL, created there by the first replica to start. */
  private async serverCa(): Promise<CertificateAuthority> {
    if (this.ca) return this.ca;
    let row = await this.find();
    if (!row) {
      const notBefore = wholeSeconds(Date.now() - 60_000);
      const created = createRootCa({
        subject: { organization: 'Meterkeep', commonName: 'Meterkeep Bootstrap Server CA' },
        validity: { notBefore, notAfter: new Date(notBefore.getTime() + CA_YEARS * YEAR_MS) },
        pathLen: 0,
      });
      const sealed = this.sealer.seal(exportPrivateKey(created.privateKey, 'der') as Buffer, SEAL_PURPOSE);
      const inserted = await this.db
        .insertInto('server_ca')
        .values({
          id: SERVER_CA_ID,
          certificate_pem: created.certificate.pem,
          key_ciphertext: sealed.ciphertext,
          key_iv: sealed.iv,
          key_tag: sealed.tag,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted)
        this.logger.info(
          { fingerprintSha256: created.certificate.fingerprintSha256 },
          'bootstrap server CA created',
        );
      row = await this.find();
      if (!row) throw new Error('bootstrap server CA row vanished after insert');
    }
    const der = openOrExplain(
      () =>
        this.sealer.open({ ciphertext: row.key_ciphertext, iv: row.key_iv, tag: row.key_tag }, SEAL_PURPOSE),
      'the bootstrap server CA',
    );
    try {
      this.ca = createIssuer({
        certificate: parseCertificate(row.certificate_pem),
        privateKey: importPrivateKey(der),
      });
    } finally {
      der.fill(0);
    }
    return this.ca;
  }

  private find() {
    return this.db.selectFrom('server_ca').selectAll().where('id', '=', SERVER_CA_ID).executeTakeFirst();
  }
}
