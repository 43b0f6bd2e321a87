import { Inject, Injectable } from '@nestjs/common';
import { type DeviceLifecycleEvent, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import type { AuditEntry } from '@meterkeep/audit';
import type { Logger } from '@meterkeep/observability';
import type { DeviceRow, Executor } from '../core/database';
import { LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ENROLLMENT_ACTOR, deviceStatusEvent } from './device-events';
import { type DeviceState, nextState } from './device-state-machine';
import { DeviceErrors } from './devices.errors';
import { DevicesRepository } from './devices.repository';

export type BootstrapRecordOutcome = 'activated' | 'recorded' | 'duplicate' | 'ignored';

/** Events recorded in one transaction at most. */
const MAX_GROUP = 256;

interface PendingEvent {
  event: DeviceLifecycleEvent;
  command: 'bootstrap' | 'renew-certificate';
  resolve(outcome: BootstrapRecordOutcome): void;
  reject(error: unknown): void;
}

/**
 * Bootstrap's word that a meter is in service: 'bootstrapped' moves an ENROLLED meter to ACTIVE,
 * 'certificate-renewed' records the new operational certificate of an ACTIVE one. Idempotent (each
 * eventId once); the registry's own events, and other types, are ignored. An event the registry
 * cannot accept (unknown meter, other tenant, lapsed claim, wrong state) throws a permanent domain
 * error, so the consumer dead-letters it for an operator to see. A 'bootstrapped' for a meter already
 * ACTIVE (its operational credential lost, or a copy of its factory credential in use) is appended to
 * the tenant's audit chain as `device.re-bootstrapped`, with the new and previous certificate serials.
 *
 * Events that arrive together (the consumer takes one per partition at a time, several partitions at
 * once) are recorded in one transaction with set-based queries: a fleet bootstrapping cost ~6
 * statements and a commit per meter before. Each event still gets its own outcome or error.
 */
@Injectable()
export class RecordDeviceBootstrapUseCase {
  private pending: PendingEvent[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly devices: DevicesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  execute(event: DeviceLifecycleEvent): Promise<BootstrapRecordOutcome> {
    if (event.actor === ENROLLMENT_ACTOR) return Promise.resolve('ignored');
    const command =
      event.type === 'bootstrapped'
        ? 'bootstrap'
        : event.type === 'certificate-renewed'
          ? 'renew-certificate'
          : undefined;
    if (!command) return Promise.resolve('ignored');
    return new Promise((resolve, reject) => {
      this.pending.push({ event, command, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Lets the events handed over in this turn of the event loop join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, MAX_GROUP);
      try {
        const outcomes = await this.record(group, new Date());
        group.forEach((entry, i) => {
          const outcome = outcomes[i]!;
          if (outcome instanceof Error) return entry.reject(outcome);
          this.logger.info(
            {
              tenantId: entry.event.tenantId,
              deviceId: entry.event.deviceId,
              type: entry.event.type,
              eventId: entry.event.eventId,
              outcome,
            },
            'device lifecycle event recorded',
          );
          entry.resolve(outcome);
        });
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
    }
    this.draining = undefined;
  }

  /** One transaction for the group; an event the registry refuses gets its error, the others commit. */
  private record(group: PendingEvent[], now: Date): Promise<(BootstrapRecordOutcome | Error)[]> {
    return this.transactions.run(async (trx) => {
      // Claimed first, as one statement: a redelivery racing on another replica waits on the unique key.
      const fresh = await firstDeliveries(
        trx,
        group.map((entry) => entry.event.eventId),
      );
      const keys = new Map(
        group.map(({ event }) => [
          keyOf(event.tenantId, event.deviceId),
          { tenantId: event.tenantId, endpointName: event.deviceId },
        ]),
      );
      const locked = await this.devices.lockByKeys(trx, [...keys.values()]);
      const current = new Map(
        locked.map((device) => [keyOf(device.tenant_id, device.endpoint_name), device]),
      );
      const patches = new Map<string, { state: DeviceState; operational_certificate_serial?: string }>();
      const activated = new Set<string>();
      const refused: string[] = [];
      const audited = new Map<string, AuditEntry[]>();
      const outcomes = group.map(({ event, command }): BootstrapRecordOutcome | Error => {
        if (!fresh.delete(event.eventId)) return 'duplicate';
        const key = keyOf(event.tenantId, event.deviceId);
        const verdict = judge(current.get(key), event, command, now);
        if (!verdict.ok) {
          refused.push(event.eventId);
          return verdict.error;
        }
        const { device, state } = verdict;
        if (command === 'bootstrap' && device.state === 'ACTIVE') {
          const entries = audited.get(device.tenant_id) ?? [];
          audited.set(device.tenant_id, [...entries, reBootstrapAudit(device, event)]);
        }
        patches.set(key, {
          ...patches.get(key),
          state,
          ...(event.certificateSerial !== undefined && {
            operational_certificate_serial: event.certificateSerial,
          }),
        });
        current.set(key, {
          ...device,
          state,
          operational_certificate_serial: event.certificateSerial ?? device.operational_certificate_serial,
        });
        if (device.state === state) return 'recorded';
        activated.add(key);
        return 'activated';
      });
      // A refused event is not processed: replayed from its dead letter later, it is tried again.
      if (refused.length > 0)
        await trx.deleteFrom('processed_events').where('event_id', 'in', refused).execute();
      const published = [];
      for (const [key, patch] of patches) {
        const { tenantId, endpointName } = keys.get(key)!;
        const updated = await this.devices.update(trx, tenantId, endpointName, patch, now);
        if (activated.has(key)) published.push(deviceStatusEvent(updated, now));
      }
      if (published.length > 0) await this.outbox.enqueue(trx, ENROLLMENT_DEVICES, published);
      for (const [tenantId, entries] of audited) await this.audit.append(trx, tenantId, entries, now);
      return outcomes;
    });
  }
}

/** The state the event moves the device (as it stands) to, or why the registry refuses it. */
function judge(
  device: DeviceRow | undefined,
  event: DeviceLifecycleEvent,
  command: 'bootstrap' | 'renew-certificate',
  now: Date,
): { ok: true; device: DeviceRow; state: DeviceState } | { ok: false; error: Error } {
  if (!device || device.tenant_id !== event.tenantId)
    return { ok: false, error: DeviceErrors.unknownDevice(event.deviceId) };
  const state = nextState(device.state, command);
  if (!state) return { ok: false, error: DeviceErrors.invalidTransition(device.state, command) };
  if (device.state === 'ENROLLED' && device.claim_expires_at !== null && device.claim_expires_at <= now)
    return { ok: false, error: DeviceErrors.claimExpired(device.endpoint_name) };
  return { ok: true, device, state };
}

/** An ACTIVE meter bootstrapped again: who said so, and which certificate replaced which. */
function reBootstrapAudit(device: DeviceRow, event: DeviceLifecycleEvent): AuditEntry {
  return {
    action: 'device.re-bootstrapped',
    actor: event.actor,
    subject: device.endpoint_name,
    outcome: 'allowed',
    detail: {
      eventId: event.eventId,
      ...(event.certificateSerial !== undefined && { certificateSerial: event.certificateSerial }),
      ...(device.operational_certificate_serial !== null && {
        previousCertificateSerial: device.operational_certificate_serial,
      }),
    },
  };
}

/** A device's registry key: tenant ids have no slash. */
const keyOf = (tenantId: string, endpointName: string) => `${tenantId}/${endpointName}`;

/** Records the event ids; returns those not seen before (the others are redeliveries). */
async function firstDeliveries(trx: Executor, eventIds: string[]): Promise<Set<string>> {
  const inserted = await trx
    .insertInto('processed_events')
    .values(eventIds.map((event_id) => ({ event_id })))
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return new Set(inserted.map((row) => row.event_id));
}
