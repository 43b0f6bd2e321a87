import { Inject, Injectable } from '@nestjs/common';
import type { EnrollmentDecommissionRequestEvent } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { countMetric } from '@meterkeep/observability';
import type { DecommissionAnswer } from '@meterkeep/service-runtime';
import type { Executor } from '../core/database';
import { TenantCasRepository } from '../pki/tenant-cas.repository';
import { ReadModelStore } from '../read-model/read-model.store';
import { CrlPublisher } from './crl-publisher';
import { IssuedCertificatesRepository } from './issued-certificates.repository';

/**
 * Bootstrap's step of a decommissioning: every operational certificate of the meter revoked
 * (cessationOfOperation) and on a CRL issued in the same transaction, and its factory credential
 * refused, which holds once the read model shows the registry's DECOMMISSIONED status (bootstrap refuses
 * a decommissioned meter at once, its PSK destroyed). Idempotent: asked again, it revokes what is left
 * (nothing) and states the same facts. `pending` while the status has not reached the read model.
 */
@Injectable()
export class DecommissionCertificatesUseCase {
  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly certificates: IssuedCertificatesRepository,
    private readonly cas: TenantCasRepository,
    private readonly crl: CrlPublisher,
    private readonly readModel: ReadModelStore,
  ) {}

  async execute(event: EnrollmentDecommissionRequestEvent): Promise<DecommissionAnswer> {
    const now = new Date();
    const revoked = await this.db.transaction().execute(async (trx) => {
      const serials = await this.certificates.revokeDevice(trx, {
        tenantId: event.tenantId,
        endpointName: event.deviceId,
        reason: 'cessationOfOperation',
        at: now,
        issuedBefore: now,
      });
      if (serials.length > 0) await this.crl.publish(event.tenantId, trx);
      return serials;
    });
    if (revoked.length > 0)
      countMetric(
        'certificatesRevoked',
        { 'meterkeep.revocation.reason': 'cessationOfOperation' },
        revoked.length,
      );
    const onCrl = (await this.certificates.revokedUnexpired(this.db, event.tenantId, now)).length;
    const ca = await this.cas.find(event.tenantId);
    const crlNumber = Number(ca?.crl_number ?? 0);
    const records = await this.readModel.devicesByEndpoint(event.deviceId);
    const record = records.find((r) => r.tenantId === event.tenantId);
    const facts = { certificatesRevokedNow: revoked.length, crlNumber, crlEntries: onCrl };
    if (record?.status !== 'DECOMMISSIONED')
      return {
        outcome: 'pending',
        detail: `certificates revoked (${revoked.length} now); the registry's DECOMMISSIONED status has not reached the read model yet`,
        facts,
      };
    return {
      outcome: 'completed',
      detail: `operational certificates revoked (${revoked.length} now) and on CRL ${crlNumber}; factory credential refused`,
      facts: { ...facts, factoryCredential: 'refused' },
    };
  }
}
