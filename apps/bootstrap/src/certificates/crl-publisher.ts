import { Inject, Injectable } from '@nestjs/common';
import { issueCrl } from '@meterkeep/pki';
import { DATABASE } from '@meterkeep/db/nest';
import type { Logger } from '@meterkeep/observability';
import type { Executor } from '../core/database';
import { LOGGER } from '@meterkeep/service-runtime';
import { wholeSeconds } from '../pki/seconds';
import { TenantCasRepository } from '../pki/tenant-cas.repository';
import { TenantIssuers } from '../pki/tenant-issuers';
import { IssuedCertificatesRepository } from './issued-certificates.repository';

/** A CRL is valid for a day, and reissued once less than half of that is left. */
export const CRL_VALIDITY_MS = 24 * 3_600_000;
export const CRL_REFRESH_BEFORE_MS = 12 * 3_600_000;

/**
 * Issues a tenant's CRL (signed by its issuing CA, numbered one after the last) and stores it beside
 * the CA: replicas serve the stored one, and the row lock keeps CRL numbers increasing.
 */
@Injectable()
export class CrlPublisher {
  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly cas: TenantCasRepository,
    private readonly issuers: TenantIssuers,
    private readonly certificates: IssuedCertificatesRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Issues a new CRL now; within `trx` when given (a revocation and its CRL commit together). */
  async publish(tenantId: string, trx?: Executor): Promise<Buffer | undefined> {
    const pki = await this.issuers.existing(tenantId);
    if (!pki) return undefined;
    const run = async (executor: Executor) => {
      const row = await this.cas.lock(executor, tenantId);
      if (!row) return undefined;
      const now = new Date();
      const revoked = await this.certificates.revokedUnexpired(executor, tenantId, now);
      const number = BigInt(row.crl_number) + 1n;
      const thisUpdate = wholeSeconds(now);
      const crl = issueCrl({
        issuer: pki.issuer,
        thisUpdate,
        nextUpdate: new Date(thisUpdate.getTime() + CRL_VALIDITY_MS),
        crlNumber: number,
        revoked: revoked.map((entry) => ({
          serial: BigInt(`0x${entry.serial}`),
          revokedAt: wholeSeconds(entry.revoked_at!),
          ...(entry.revocation_reason !== null && { reason: entry.revocation_reason }),
        })),
      });
      await this.cas.saveCrl(executor, tenantId, { number, der: crl.der, nextUpdate: crl.nextUpdate });
      this.logger.info({ tenantId, crlNumber: number.toString(), entries: revoked.length }, 'CRL issued');
      return crl.der;
    };
    return trx ? run(trx) : this.db.transaction().execute(run);
  }
}
