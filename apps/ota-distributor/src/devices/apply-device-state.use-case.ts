import { Injectable } from '@nestjs/common';
import {
  type DeviceLifecycleEvent,
  type EnrollmentDeviceEvent,
  OTA_DEVICE_STATUS_V2,
} from '@meterkeep/contracts';
import type { DeviceState } from '../core/database';
import { ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { DevicesRepository } from './devices.repository';

/**
 * Keeps the distributor's device projection from enrollment.devices.v1 (state and class) and
 * device.lifecycle.v1 (state): a SUSPENDED meter's execution is held (check-in serves no directive
 * until it is ACTIVE again); a DECOMMISSIONED meter's unfinished execution becomes REMOVED, published
 * on ota.device-status.v2. Idempotent: a repeated or older event changes nothing.
 */
@Injectable()
export class ApplyDeviceStateUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly executions: ExecutionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  fromEnrollment(event: EnrollmentDeviceEvent): Promise<void> {
    return this.apply(
      event.tenantId,
      event.deviceId,
      event.status,
      new Date(event.occurredAt),
      // A record without a model leaves the class as it was (enrollment's rows keep theirs).
      event.model,
    );
  }

  fromLifecycle(event: DeviceLifecycleEvent): Promise<void> {
    // MANUFACTURED is before enrollment: nothing the distributor acts on.
    if (event.state === 'MANUFACTURED') return Promise.resolve();
    return this.apply(event.tenantId, event.deviceId, event.state, new Date(event.occurredAt), undefined);
  }

  private async apply(
    tenantId: string,
    deviceId: string,
    state: DeviceState,
    at: Date,
    classId: string | null | undefined,
  ): Promise<void> {
    const now = new Date();
    await this.transactions.run(async (trx) => {
      const { row } = await this.devices.apply(trx, { tenantId, deviceId, state, classId, at }, now);
      if (row.state !== 'DECOMMISSIONED') return;
      const removed = await this.executions.endActive(trx, tenantId, deviceId, 'REMOVED', now);
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
