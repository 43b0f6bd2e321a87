import { Inject, Injectable } from '@nestjs/common';
import type { BootstrapConfig } from '../config';
import { CONFIG } from '@meterkeep/service-runtime';
import { type DeviceRecord, claimLapsed } from '../read-model/read-model.records';
import { ReadModelStore } from '../read-model/read-model.store';
import { ReadModelSync } from '../read-model/read-model.sync';
import { BootstrapErrors } from './bootstrap.errors';

/** While the read model is rebuilt, meters come back soon; once it is complete, less often. */
const REBUILD_RETRY_AFTER_S = 2;

/** Finds meters in the read model; a miss is "not yet known" (503, retried), never a final refusal. */
@Injectable()
export class DeviceLookup {
  constructor(
    private readonly readModel: ReadModelStore,
    private readonly sync: ReadModelSync,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
  ) {}

  /** Whether a miss is final: the read model has caught up with the topics (and was not lost since). */
  isFinalMiss(): Promise<boolean> {
    return this.sync.isCaughtUp();
  }

  /** 503 NOT_YET_KNOWN, asking for a quick retry while the read model is still being rebuilt. */
  async notYetKnown(): Promise<never> {
    const caughtUp = await this.sync.isCaughtUp();
    throw BootstrapErrors.notYetKnown(
      caughtUp ? this.config.BOOTSTRAP_NOT_KNOWN_RETRY_AFTER_S : REBUILD_RETRY_AFTER_S,
    );
  }

  /**
   * The meter's current record at one of `tenants`: 503 when no tenant has it (yet), 403
   * NOT_ENROLLED_HERE when only other tenants have it, or this tenant's claim lapsed.
   */
  async enrolledAt(endpointName: string, tenants: readonly string[], now: Date): Promise<DeviceRecord> {
    const records = await this.readModel.devicesByEndpoint(endpointName);
    if (records.length === 0) return this.notYetKnown();
    const here = records.filter((record) => tenants.includes(record.tenantId));
    if (here.length === 0) throw BootstrapErrors.notEnrolledHere();
    const current = latest(here.filter((record) => !claimLapsed(record, now)));
    if (!current)
      throw BootstrapErrors.notEnrolledHere('the claim on this meter lapsed before it bootstrapped');
    return current;
  }
}

export function latest(records: readonly DeviceRecord[]): DeviceRecord | undefined {
  return [...records].sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt))[0];
}
