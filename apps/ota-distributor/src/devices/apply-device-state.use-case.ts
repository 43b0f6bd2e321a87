import { Injectable } from '@nestjs/common';
import {
  type DeviceLifecycleEvent,
  type EnrollmentDeviceEvent,
  OTA_DEVICE_STATUS_V2,
} from '@meterkeep/contracts';
import { ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import type { DeviceChange } from './device-projection';
import { DevicesRepository } from './devices.repository';

/**
 * Keeps the distributor's device projection, a consumer batch at a time, from enrollment.devices.v1 (state, class and gateway) and
 * device.lifecycle.v1 (state): a SUSPENDED meter's execution is held (check-in serves no directive
 * until it is ACTIVE again); a DECOMMISSIONED meter's unfinished execution becomes REMOVED, published
 * on ota.device-status.v2. Idempotent: a repeated or older event changes nothing; within a batch,
 * a device's later event wins as if applied one by one.
 */
@Injectable()
export class ApplyDeviceStateUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly executions: ExecutionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  /** A batch of enrollment's records, in offset order: one transaction. */
  fromEnrollment(events: readonly EnrollmentDeviceEvent[]): Promise<void> {
    return this.apply(
      events.map((event) => ({
        tenantId: event.tenantId,
        deviceId: event.deviceId,
        state: event.status,
        at: new Date(event.occurredAt),
        // The class enrollment holds; older records carry only the model (the class id until then).
        // A record with neither leaves the class as it was.
        classId: event.classId ?? event.model,
        // Enrollment's record is the whole registry state: no gatewayId means the meter has none.
        gatewayId: event.gatewayId ?? null,
      })),
    );
  }

  /** A batch of lifecycle transitions, in offset order: one transaction. */
  fromLifecycle(events: readonly DeviceLifecycleEvent[]): Promise<void> {
    return this.apply(
      // MANUFACTURED is before enrollment: nothing the distributor acts on.
      events.flatMap((event) =>
        event.state === 'MANUFACTURED'
          ? []
          : [
              {
                tenantId: event.tenantId,
                deviceId: event.deviceId,
                state: event.state,
                at: new Date(event.occurredAt),
              },
            ],
      ),
    );
  }

  private async apply(changes: readonly DeviceChange[]): Promise<void> {
    if (changes.length === 0) return;
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const devices = await this.devices.applyAll(trx, changes, now);
      const removed = [];
      // Rare: a decommissioned device's unfinished execution, one device at a time.
      for (const device of devices) {
        if (device.state !== 'DECOMMISSIONED') continue;
        removed.push(
          ...(await this.executions.endActive(trx, device.tenantId, device.deviceId, 'REMOVED', now)),
        );
      }
      if (removed.length > 0) {
        await this.outbox.enqueue(
          trx,
          OTA_DEVICE_STATUS_V2,
          removed.map((execution) => deviceStatusEvent(execution, execution.deployment, now)),
        );
      }
    });
  }
}
