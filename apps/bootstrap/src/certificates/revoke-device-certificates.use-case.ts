import { Inject, Injectable } from '@nestjs/common';
import { BOOTSTRAP_OPERATIONAL_CERTIFICATES, type DeviceLifecycleEvent } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer } from '@meterkeep/kafka';
import { type Logger, countMetric, startCounterAtZero } from '@meterkeep/observability';
import type { Executor, RevocationReason } from '../core/database';
import { LOGGER } from '@meterkeep/service-runtime';
import type { DeviceRecord } from '../read-model/read-model.records';
import { ReadModelStore } from '../read-model/read-model.store';
import { CrlPublisher } from './crl-publisher';
import { IssuedCertificatesRepository } from './issued-certificates.repository';
import { operationalCertificateEvent } from './operational-certificate.event';

export type RevocationOutcome = 'revoked' | 'nothing-to-revoke' | 'duplicate' | 'ignored';

const REASONS: Partial<Record<DeviceLifecycleEvent['type'], RevocationReason>> = {
  suspended: 'privilegeWithdrawn',
  decommissioned: 'cessationOfOperation',
};

/** Revocations counted from 0 for every reason, so the first ones after a start show in rate(). */
export function startRevocationCounterAtZero(): void {
  startCounterAtZero(
    'certificatesRevoked',
    [...new Set(Object.values(REASONS))].map((reason) => ({ 'meterkeep.revocation.reason': reason })),
  );
}

/**
 * Suspending or decommissioning a meter revokes its operational certificates, and the tenant's CRL
 * is reissued in the same transaction. Every certificate issued until now is revoked (one issued
 * while the suspension was on its way included), unless the read model already shows the meter back
 * in service after this event (a late delivery): then only those issued before the event are.
 * Once committed, the device's current certificate is published as revoked when it is (after a
 * redelivery too: a publish that failed is made again on the retry, never skipped as a duplicate).
 */
@Injectable()
export class RevokeDeviceCertificatesUseCase {
  constructor(
    @Inject(DATABASE) private readonly db: Executor,
    private readonly certificates: IssuedCertificatesRepository,
    private readonly crl: CrlPublisher,
    private readonly readModel: ReadModelStore,
    private readonly producer: EventProducer,
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
    if (serials.length > 0)
      countMetric('certificatesRevoked', { 'meterkeep.revocation.reason': reason }, serials.length);
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
    await this.publishCurrentIfRevoked(event.tenantId, event.deviceId);
    return outcome;
  }

  /**
   * The device's current (latest issued) certificate, on bootstrap.operational-certificates.v1, when
   * it is revoked; nothing when it is valid (the meter was back in service and got a new one) or when
   * the device never had one. Throws when Kafka does not acknowledge: the event is retried.
   */
  private async publishCurrentIfRevoked(tenantId: string, deviceId: string): Promise<void> {
    const current = await this.certificates.latestOf(tenantId, deviceId);
    if (!current || current.revoked_at === null) return;
    await this.producer.publish(
      BOOTSTRAP_OPERATIONAL_CERTIFICATES,
      operationalCertificateEvent({
        tenantId,
        deviceId,
        serial: current.serial,
        notAfter: current.not_after,
        status: 'revoked',
        at: current.revoked_at,
      }),
    );
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
