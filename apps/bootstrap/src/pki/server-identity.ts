import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import {
  type CertificateAuthority,
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
import type { BootstrapConfig } from '../config';
import type { Executor } from '../core/database';
import { KeySealer, openOrExplain } from '../core/key-sealer';
import { CONFIG, LOGGER } from '../core/tokens';
import { YEAR_MS, wholeSeconds } from './seconds';

/** What the device listener serves: its key and certificate, and the CA meters trust it by. */
export interface TlsCredentials {
  keyPem: string;
  certificatePem: string;
  /** The CA meters trust the listener by (the bundle's bootstrap.trustAnchorPem). */
  caPem: string;
  notAfter: Date;
}

const SERVER_CA_ID = 'bootstrap-server-ca';
const SEAL_PURPOSE = 'server-ca';
const CA_YEARS = 20;
/** The listener's own certificate lives in memory only, and is reissued well before it expires. */
export const SERVER_CERTIFICATE_VALIDITY_MS = 7 * 86_400_000;

/**
 * The device listener's TLS identity. By default the platform's bootstrap server CA (created once,
 * its key sealed under BOOTSTRAP_KEK in PostgreSQL) issues a short-lived server certificate for
 * BOOTSTRAP_TLS_HOSTNAMES at start-up; BOOTSTRAP_TLS_CERT_FILE/KEY_FILE replace it with an externally
 * issued one.
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
    const ca = await this.serverCa();
    const keyPair = generateKeyPair();
    const hostnames = this.config.BOOTSTRAP_TLS_HOSTNAMES;
    const notBefore = wholeSeconds(now.getTime() - 5 * 60_000);
    const certificate = createIssuer(ca).issue({
      profile: 'server',
      subject: { organization: 'Meterkeep', commonName: hostnames[0] },
      sans: {
        dns: hostnames.filter((h) => isIP(h) === 0),
        ip: hostnames.filter((h) => isIP(h) !== 0),
      },
      subjectPublicKey: keyPair.publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + SERVER_CERTIFICATE_VALIDITY_MS),
    });
    return {
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: certificate.pem,
      caPem: ca.certificate.pem,
      notAfter: certificate.notAfter,
    };
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
