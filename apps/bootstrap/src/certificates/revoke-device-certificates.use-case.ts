import { Inject, Injectable } from '@nestjs/common';
import type { DeviceLifecycleEvent } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { Logger } from '@meterkeep/observability';
import type { Executor, RevocationReason } from '../core/database';
import { LOGGER } from '../core/tokens';
import type { DeviceRecord } from '../read-model/read-model.records';
import { ReadModelStore } from '../read-model/read-model.store';
import { CrlPublisher } from './crl-publisher';
import { IssuedCertificatesRepository } from './issued-certificates.repository';

export type RevocationOutcome = 'revoked' | 'nothing-to-revoke' | 'duplicate' | 'ignored';

const REASONS: Partial<Record<DeviceLifecycleEvent['type'], RevocationReason>> = {
  suspended: 'privilegeWithdrawn',
  decommissioned: 'cessationOfOperation',
};

/**
 * Suspending or decommissioning a meter revokes its operational certificates, and the tenant's CRL
 * is reissued in the same transaction. Every certificate issued until now is revoked (one issued
 * while the suspension was on its way included), unless the read model already shows the meter back
 * in service after this event (a late delivery): then only those issued before the event are.
 */
@Injectable()
export class RevokeDeviceCertificatesUseCase {
  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly certificates: IssuedCertificatesRepository,
    private readonly crl: CrlPublisher,
    private readonly readModel: ReadModelStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(event: DeviceLifecycleEvent): Promise<RevocationOutcome> {
    const reason = REASONS[event.type];
    if (!reason) return 'ignored';
    const now = new Date();
    const current = await this.currentRecord(event);
    const superseded =
      current !== undefined &&
      (current.status === 'ACTIVE' || current.status === 'ENROLLED') &&
      Date.parse(current.occurredAt) > Date.parse(event.occurredAt);
    const issuedBefore = superseded ? new Date(event.occurredAt) : now;
    const { outcome, serials } = await this.db.transaction().execute(async (trx) => {
      if (!(await this.certificates.firstDelivery(trx, event.eventId)))
        return { outcome: 'duplicate' as const, serials: [] };
      const revoked = await this.certificates.revokeDevice(trx, {
        tenantId: event.tenantId,
        endpointName: event.deviceId,
        reason,
        at: now,
        issuedBefore,
      });
      if (revoked.length > 0) await this.crl.publish(event.tenantId, trx);
      return {
        outcome: revoked.length > 0 ? ('revoked' as const) : ('nothing-to-revoke' as const),
        serials: revoked,
      };
    });
    this.logger.info(
      {
        tenantId: event.tenantId,
        deviceId: event.deviceId,
        type: event.type,
        eventId: event.eventId,
        outcome,
        serials,
        superseded,
      },
      'device lifecycle event applied to certificates',
    );
    return outcome;
  }

  /** The read model's record of the device, if it can tell (a Redis outage means "revoke it all"). */
  private async currentRecord(event: DeviceLifecycleEvent): Promise<DeviceRecord | undefined> {
    try {
      const records = await this.readModel.devicesByEndpoint(event.deviceId);
      return records.find((record) => record.tenantId === event.tenantId);
    } catch {
      return undefined;
    }
  }
}
