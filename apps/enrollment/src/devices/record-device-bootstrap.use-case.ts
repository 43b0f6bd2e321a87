import { Inject, Injectable } from '@nestjs/common';
import { type DeviceLifecycleEvent, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import type { Executor } from '../core/database';
import { LOGGER } from '../core/tokens';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ENROLLMENT_ACTOR, deviceStatusEvent } from './device-events';
import { nextState } from './device-state-machine';
import { DeviceErrors } from './devices.errors';
import { DevicesRepository } from './devices.repository';

export type BootstrapRecordOutcome = 'activated' | 'recorded' | 'duplicate' | 'ignored';

/**
 * Bootstrap's word that a meter is in service: 'bootstrapped' moves an ENROLLED meter to ACTIVE,
 * 'certificate-renewed' records the new operational certificate of an ACTIVE one. Idempotent (each
 * eventId once); the registry's own events, and other types, are ignored. An event the registry
 * cannot accept (unknown meter, other tenant, lapsed claim, wrong state) throws a permanent domain
 * error, so the consumer dead-letters it for an operator to see.
 */
@Injectable()
export class RecordDeviceBootstrapUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(event: DeviceLifecycleEvent): Promise<BootstrapRecordOutcome> {
    if (event.actor === ENROLLMENT_ACTOR) return 'ignored';
    const command =
      event.type === 'bootstrapped'
        ? 'bootstrap'
        : event.type === 'certificate-renewed'
          ? 'renew-certificate'
          : undefined;
    if (!command) return 'ignored';
    const now = new Date();
    const outcome = await this.transactions.run(async (trx): Promise<BootstrapRecordOutcome> => {
      if (!(await firstDelivery(trx, event.eventId))) return 'duplicate';
      const device = await this.devices.lock(trx, event.deviceId);
      if (!device || device.tenant_id !== event.tenantId) throw DeviceErrors.unknownDevice(event.deviceId);
      const state = nextState(device.state, command);
      if (!state) throw DeviceErrors.invalidTransition(device.state, command);
      if (device.state === 'ENROLLED' && device.claim_expires_at !== null && device.claim_expires_at <= now)
        throw DeviceErrors.claimExpired(device.endpoint_name);
      const updated = await this.devices.update(
        trx,
        device.endpoint_name,
        {
          state,
          ...(event.certificateSerial !== undefined && {
            operational_certificate_serial: event.certificateSerial,
          }),
        },
        now,
      );
      if (device.state === state) return 'recorded';
      await this.outbox.enqueue(trx, ENROLLMENT_DEVICES, [deviceStatusEvent(updated, now)]);
      return 'activated';
    });
    this.logger.info(
      {
        tenantId: event.tenantId,
        deviceId: event.deviceId,
        type: event.type,
        eventId: event.eventId,
        outcome,
      },
      'device lifecycle event recorded',
    );
    return outcome;
  }
}

/** Records the event id; false when it was seen before (a redelivery). */
async function firstDelivery(trx: Executor, eventId: string): Promise<boolean> {
  const inserted = await trx
    .insertInto('processed_events')
    .values({ event_id: eventId })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return inserted !== undefined;
}
