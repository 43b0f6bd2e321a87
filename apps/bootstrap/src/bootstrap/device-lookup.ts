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
   * The record a certificate meter proves it is: among the records of tenants trusting its CA (those
   * of any other tenant are not this meter's, whoever made them, and change nothing), one that is not
   * a lapsed claim and names the presented certificate; when several tenants trusting the CA name it,
   * the first to enroll holds it. 503 when no such tenant has the meter (yet), 403 NOT_ENROLLED_HERE
   * when their claims lapsed, FINGERPRINT_MISMATCH when none names this certificate,
   * CERTIFICATE_REVOKED when its holder revoked it (answered as every pre-authentication refusal).
   */
  async holderOf(
    endpointName: string,
    tenants: readonly string[],
    fingerprintSha256: string,
    now: Date,
  ): Promise<DeviceRecord> {
    const records = await this.readModel.devicesByEndpoint(endpointName);
    const here = records.filter((record) => tenants.includes(record.tenantId));
    if (here.length === 0) return this.notYetKnown();
    const current = here.filter((record) => !claimLapsed(record, now));
    if (current.length === 0)
      throw BootstrapErrors.notEnrolledHere('the claim on this meter lapsed before it bootstrapped');
    const holder = firstEnrolled(
      current.filter(
        ({ credential }) =>
          credential.kind === 'certificate' && credential.fingerprintSha256 === fingerprintSha256,
      ),
    );
    if (!holder) throw BootstrapErrors.fingerprintMismatch();
    if (holder.credentialRevokedAt !== undefined) throw BootstrapErrors.certificateRevoked();
    return holder;
  }
}

/** The record enrolled first (records from before `enrolledAt` was published: by their last change). */
export function firstEnrolled(records: readonly DeviceRecord[]): DeviceRecord | undefined {
  const at = (record: DeviceRecord) => Date.parse(record.enrolledAt ?? record.occurredAt);
  return [...records].sort((a, b) => at(a) - at(b) || (a.tenantId < b.tenantId ? -1 : 1))[0];
}
