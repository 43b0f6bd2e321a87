import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { BOOTSTRAP_ISSUING_CAS, type BootstrapIssuingCaEvent } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import type { Logger } from '@meterkeep/observability';
import { parseCertificate } from '@meterkeep/pki';
import { LOGGER } from '@meterkeep/service-runtime';
import { TenantCasRepository } from './tenant-cas.repository';
import type { TenantPki } from './tenant-issuers';

const BATCH = 500;

interface IssuingCa {
  tenantId: string;
  /** Issuing CA first, root last. */
  chainPem: readonly string[];
  createdAt: Date;
}

/**
 * Publishes the tenants' issuing CA chains (public material) on bootstrap.issuing-cas.v1, compacted
 * by tenant: operational endpoints trust meters' certificates by them. At start-up every existing
 * tenant CA is published again, so the topic is complete whatever was lost before; a tenant created
 * since is published before its first certificate is handed out. A tenant's record is the same
 * bytes every time (its event id and time derive from the CA), so a republish changes nothing.
 */
@Injectable()
export class IssuingCaPublisher implements OnApplicationBootstrap {
  /** Tenants whose record this process has seen acknowledged (or is publishing). */
  private readonly published = new Map<string, Promise<void>>();

  constructor(
    private readonly repository: TenantCasRepository,
    private readonly producer: EventProducer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.republishAll();
  }

  /** Publishes every tenant's issuing CA; resolves once Kafka acknowledged them all. */
  async republishAll(): Promise<number> {
    const rows = await this.repository.allCertificates();
    const cas = rows.map((row) => ({
      tenantId: row.tenant_id,
      chainPem: [row.issuing_certificate_pem, row.root_certificate_pem],
      createdAt: row.created_at,
    }));
    for (let i = 0; i < cas.length; i += BATCH)
      await this.producer.publishMany(BOOTSTRAP_ISSUING_CAS, cas.slice(i, i + BATCH).map(issuingCaEvent));
    for (const ca of cas) this.published.set(ca.tenantId, Promise.resolve());
    this.logger.info({ tenants: cas.length }, 'tenant issuing CAs published');
    return cas.length;
  }

  /** Publishes the tenant's issuing CA unless this process already did; a failure is retried next call. */
  ensurePublished(pki: TenantPki): Promise<void> {
    let publishing = this.published.get(pki.tenantId);
    if (!publishing) {
      publishing = this.producer
        .publish(
          BOOTSTRAP_ISSUING_CAS,
          issuingCaEvent({ tenantId: pki.tenantId, chainPem: pki.chainPem, createdAt: pki.createdAt }),
        )
        .then(
          () => this.logger.info({ tenantId: pki.tenantId }, 'tenant issuing CA published'),
          (error: unknown) => {
            this.published.delete(pki.tenantId);
            throw error;
          },
        );
      this.published.set(pki.tenantId, publishing);
    }
    return publishing;
  }
}

/** The record of a tenant's issuing CA: the same for the same CA, whenever it is made. */
export function issuingCaEvent(ca: IssuingCa): BootstrapIssuingCaEvent {
  const fingerprintSha256 = parseCertificate(ca.chainPem[0]!).fingerprintSha256;
  return {
    eventId: nameBasedUuid(`${BOOTSTRAP_ISSUING_CAS.name}:${ca.tenantId}:${fingerprintSha256}`),
    tenantId: ca.tenantId,
    occurredAt: ca.createdAt.toISOString(),
    fingerprintSha256,
    chainPem: [...ca.chainPem],
  };
}

/** An RFC 9562 version-8 UUID from a SHA-256 of the name: the same name, the same id. */
function nameBasedUuid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
