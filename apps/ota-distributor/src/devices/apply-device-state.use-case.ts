import { Injectable } from '@nestjs/common';
import {
  type DeviceLifecycleEvent,
  type EnrollmentDecommissionRequestEvent,
  type EnrollmentDeviceEvent,
  OTA_DEVICE_STATUS_V2,
} from '@meterkeep/contracts';
import type { DecommissionAnswer } from '@meterkeep/service-runtime';
import { CampaignJoiners } from '../campaigns/campaign-joiners';
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
 * on ota.device-status.v2; a meter the change makes a target of a RUNNING dynamic campaign joins its
 * last phase (CampaignJoiners). Idempotent: a repeated or older event changes nothing; within a batch,
 * a device's later event wins as if applied one by one.
 */
@Injectable()
export class ApplyDeviceStateUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly executions: ExecutionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    private readonly joiners: CampaignJoiners,
  ) {}

  /** A batch of enrollment's records, in offset order: one transaction. */
  async fromEnrollment(events: readonly EnrollmentDeviceEvent[]): Promise<void> {
    await this.apply(
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
  async fromLifecycle(events: readonly DeviceLifecycleEvent[]): Promise<void> {
    await this.apply(
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

  /**
   * The distributor's step of a decommissioning (enrollment.decommission-requests.v1): the meter's
   * projection DECOMMISSIONED as of the registry's time, its unfinished execution REMOVED (published on
   * ota.device-status.v2). Idempotent: asked again, nothing is left to remove; completed only once no
   * unfinished execution of the meter remains.
   */
  async decommission(event: EnrollmentDecommissionRequestEvent): Promise<DecommissionAnswer> {
    const removed = await this.apply([
      {
        tenantId: event.tenantId,
        deviceId: event.deviceId,
        state: 'DECOMMISSIONED',
        at: new Date(event.decommissionedAt),
      },
    ]);
    const left = await this.executions.findActive(event.tenantId, event.deviceId);
    if (left)
      return {
        outcome: 'pending',
        detail: `execution ${left.execution_id} is still ${left.state}`,
        facts: { executionsRemovedNow: removed },
      };
    return {
      outcome: 'completed',
      detail: `${removed} unfinished execution(s) removed now; none left`,
      facts: { executionsRemovedNow: removed, activeExecutions: 0 },
    };
  }

  private async apply(changes: readonly DeviceChange[]): Promise<number> {
    if (changes.length === 0) return 0;
    const now = new Date();
    return this.transactions.run(async (trx) => {
      const devices = await this.devices.applyAll(trx, changes, now);
      const candidates = devices.filter((device) => device.mayJoin);
      if (candidates.length > 0) await this.joiners.join(trx, candidates, now);
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
      return removed.length;
    });
  }
}
