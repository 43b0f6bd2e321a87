import { Inject, Injectable } from '@nestjs/common';
import {
  type Certificate,
  type Issuer,
  createIntermediateCa,
  createIssuer,
  createRootCa,
  exportPrivateKey,
  importPrivateKey,
  parseCertificate,
} from '@meterkeep/pki';
import type { Logger } from '@meterkeep/observability';
import type { TenantCaRow } from '../core/database';
import { KeySealer, openOrExplain } from '../core/key-sealer';
import { LOGGER } from '@meterkeep/service-runtime';
import { YEAR_MS, wholeSeconds } from './seconds';
import { TenantCasRepository } from './tenant-cas.repository';

/** A tenant's operational PKI, ready to sign: imported once per process, reused for every certificate. */
export interface TenantPki {
  tenantId: string;
  issuer: Issuer;
  /** The issuing CA's certificate: what operational certificates chain to. */
  issuing: Certificate;
  /** The tenant's operational root: the trust anchor of operational endpoints and of renewal. */
  root: Certificate;
  /** Issuing CA first, root last: the chain a meter is given. */
  chainPem: [string, string];
  /** The issuing CA's subject key identifier (hex). */
  keyId: string;
  /** When the tenant's CAs were created. */
  createdAt: Date;
}

const ROOT_YEARS = 25;
const ISSUING_YEARS = 20;
const purpose = (tenantId: string, role: 'root' | 'issuing') => `tenant-ca:${tenantId}:${role}`;

/**
 * The tenants' issuing CAs: created on a tenant's first bootstrap (a root and an issuing CA under it,
 * keys sealed under BOOTSTRAP_KEK), then kept imported in memory, so the hot path never unseals a key.
 */
@Injectable()
export class TenantIssuers {
  private readonly byTenant = new Map<string, Promise<TenantPki>>();
  private readonly tenantByKeyId = new Map<string, string>();

  constructor(
    private readonly repository: TenantCasRepository,
    private readonly sealer: KeySealer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The tenant's PKI, created on first use. */
  forTenant(tenantId: string): Promise<TenantPki> {
    let pki = this.byTenant.get(tenantId);
    if (!pki) {
      pki = this.loadOrCreate(tenantId).catch((error: unknown) => {
        this.byTenant.delete(tenantId);
        throw error;
      });
      this.byTenant.set(tenantId, pki);
    }
    return pki;
  }

  /** The tenant PKI whose issuing CA has this key identifier (hex), if any: renewal finds its tenant so. */
  async byIssuingKeyId(keyId: string): Promise<TenantPki | undefined> {
    const known = this.tenantByKeyId.get(keyId);
    if (known) return this.forTenant(known);
    const row = await this.repository.findByIssuingKeyId(keyId);
    if (!row) return undefined;
    return this.forTenant(row.tenant_id);
  }

  /** The tenant's PKI if it has one already; never creates it. */
  async existing(tenantId: string): Promise<TenantPki | undefined> {
    if (this.byTenant.has(tenantId)) return this.forTenant(tenantId);
    const row = await this.repository.find(tenantId);
    return row ? this.forTenant(tenantId) : undefined;
  }

  private async loadOrCreate(tenantId: string): Promise<TenantPki> {
    let row = await this.repository.find(tenantId);
    if (!row) {
      const created = await this.repository.insertIfAbsent(this.newCas(tenantId));
      row = await this.repository.find(tenantId);
      if (!row) throw new Error(`tenant ${tenantId}: CA row vanished after insert`);
      if (created)
        this.logger.info({ tenantId, issuingKeyId: row.issuing_key_id }, 'tenant issuing CA created');
    }
    return this.prepare(row);
  }

  private newCas(tenantId: string) {
    const notBefore = wholeSeconds(Date.now() - 60_000);
    const subject = (commonName: string) => ({
      organization: 'Meterkeep',
      organizationalUnit: tenantId,
      commonName,
    });
    const root = createRootCa({
      subject: subject('Operational Root CA'),
      validity: { notBefore, notAfter: new Date(notBefore.getTime() + ROOT_YEARS * YEAR_MS) },
      pathLen: 1,
    });
    const issuing = createIntermediateCa(root, {
      subject: subject('Issuing CA'),
      validity: { notBefore, notAfter: new Date(notBefore.getTime() + ISSUING_YEARS * YEAR_MS) },
      pathLen: 0,
    });
    const rootKey = this.sealer.seal(
      exportPrivateKey(root.privateKey, 'der') as Buffer,
      purpose(tenantId, 'root'),
    );
    const issuingKey = this.sealer.seal(
      exportPrivateKey(issuing.privateKey, 'der') as Buffer,
      purpose(tenantId, 'issuing'),
    );
    return {
      tenant_id: tenantId,
      root_certificate_pem: root.certificate.pem,
      root_key_ciphertext: rootKey.ciphertext,
      root_key_iv: rootKey.iv,
      root_key_tag: rootKey.tag,
      issuing_certificate_pem: issuing.certificate.pem,
      issuing_key_ciphertext: issuingKey.ciphertext,
      issuing_key_iv: issuingKey.iv,
      issuing_key_tag: issuingKey.tag,
      issuing_key_id: keyIdOf(issuing.certificate),
    };
  }

  private prepare(row: TenantCaRow): TenantPki {
    const der = openOrExplain(
      () =>
        this.sealer.open(
          { ciphertext: row.issuing_key_ciphertext, iv: row.issuing_key_iv, tag: row.issuing_key_tag },
          purpose(row.tenant_id, 'issuing'),
        ),
      `the issuing CA of tenant ${row.tenant_id}`,
    );
    let issuer: Issuer;
    try {
      issuer = createIssuer({
        certificate: parseCertificate(row.issuing_certificate_pem),
        privateKey: importPrivateKey(der),
      });
    } finally {
      der.fill(0);
    }
    const root = parseCertificate(row.root_certificate_pem);
    this.tenantByKeyId.set(row.issuing_key_id, row.tenant_id);
    return {
      tenantId: row.tenant_id,
      issuer,
      issuing: issuer.certificate,
      root,
      chainPem: [issuer.certificate.pem, root.pem],
      keyId: row.issuing_key_id,
      createdAt: row.created_at,
    };
  }
}

/** A certificate's subject key identifier in hex (present on every CA certificate pki makes). */
export function keyIdOf(certificate: Certificate): string {
  const ski = certificate.extensions.subjectKeyIdentifier;
  if (!ski) throw new Error(`${certificate.subject.toString()} has no subject key identifier`);
  return ski.toString('hex');
}
