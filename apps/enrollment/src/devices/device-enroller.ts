import { timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Insertable } from 'kysely';
import { DEVICE_LIFECYCLE, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import type { DeviceRow, DevicesTable, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { deviceStatusEvent, lifecycleEvent } from './device-events';
import { nextState } from './device-state-machine';
import { DevicesRepository } from './devices.repository';
import type { EnrollmentCredential, EnrollmentRow } from './enrollment-row';
import { PskCipher } from './psk-cipher';

export interface EnrollmentContext {
  tenantId: string;
  actor: string;
  now: Date;
  /** 'enrolled' for list uploads, 'claimed' for single-device claims. */
  lifecycleType: 'enrolled' | 'claimed';
  /** The upload the rows come from: a second row for the same endpoint in it is a duplicate. */
  uploadId?: string;
  claimExpiresAt?: Date;
}

export type RefusalCode = 'ENROLLMENT_LOCKED' | 'PSK_IDENTITY_IN_USE' | 'DUPLICATE';

export type EnrollmentOutcome =
  | { line: number; status: 'accepted' | 'unchanged'; device: DeviceRow }
  | { line: number; status: 'rejected'; code: RefusalCode; reason: string };

// Reasons are returned to the caller: they speak of the caller's own tenant only.
const REASONS = {
  pskIdentityInUse: 'PSK identity already used by another device of this tenant',
  duplicate: (line: number) => `endpoint appears earlier in this list${line > 0 ? ` (line ${line})` : ''}`,
  locked: (state: string) => `device is ${state}; its enrollment can no longer change`,
  revoked: 'this factory credential was revoked; an operator may rotate it',
};

/**
 * Enrolls a batch of validated rows for one tenant in the caller's transaction, and writes the events
 * of every change beside it. Per row: new → inserted; same tenant and same row → unchanged (re-upload
 * is idempotent); same tenant, changed, not yet bootstrapped → updated. Endpoint names (and PSK
 * identities) are per tenant: another tenant's rows are neither seen nor touched, so no tenant can
 * block another's meters by naming them first, nor learn that they exist. Which tenant a meter
 * belongs to is settled at bootstrap by what it proves (the CA its certificate chains to, its PSK).
 */
@Injectable()
export class DeviceEnroller {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly cipher: PskCipher,
    private readonly outbox: OutboxRepository,
  ) {}

  async enroll(
    trx: Executor,
    context: EnrollmentContext,
    rows: readonly EnrollmentRow[],
  ): Promise<EnrollmentOutcome[]> {
    const outcomes = new Map<EnrollmentRow, EnrollmentOutcome>();
    const firstLine = new Map<string, number>();
    const candidates: EnrollmentRow[] = [];
    for (const row of rows) {
      const seen = firstLine.get(row.endpointName);
      if (seen === undefined) {
        firstLine.set(row.endpointName, row.line);
        candidates.push(row);
      } else outcomes.set(row, rejected(row, 'DUPLICATE', REASONS.duplicate(seen)));
    }
    // One lock order for every writer: concurrent uploads of overlapping lists cannot deadlock.
    candidates.sort((a, b) => (a.endpointName < b.endpointName ? -1 : 1));

    const inserted = await this.devices.insertNew(
      trx,
      candidates.map((row) => ({
        endpoint_name: row.endpointName,
        ...this.columnsFor(row, context),
        state: 'ENROLLED',
      })),
    );
    const insertedByEndpoint = new Map(inserted.map((device) => [device.endpoint_name, device]));
    const changed: DeviceRow[] = [...inserted];
    const rest = candidates.filter((row) => !insertedByEndpoint.has(row.endpointName));
    for (const row of candidates) {
      const device = insertedByEndpoint.get(row.endpointName);
      if (device) outcomes.set(row, { line: row.line, status: 'accepted', device });
    }

    const existing = new Map(
      (
        await this.devices.lockByEndpoints(
          trx,
          context.tenantId,
          rest.map((row) => row.endpointName),
        )
      ).map((d) => [d.endpoint_name, d]),
    );
    const identityOwners = await this.devices.pskIdentityOwners(
      trx,
      context.tenantId,
      rest.flatMap((row) => (row.credential.kind === 'psk' ? [row.credential.pskIdentity] : [])),
    );
    for (const row of rest) {
      const device = existing.get(row.endpointName);
      const outcome = device
        ? await this.enrollExisting(trx, context, row, device, identityOwners)
        : // Neither inserted nor present: the PSK identity is what the insert refused.
          rejected(row, 'PSK_IDENTITY_IN_USE', REASONS.pskIdentityInUse);
      outcomes.set(row, outcome);
      if (outcome.status === 'accepted') changed.push(outcome.device);
    }

    const { now, actor, lifecycleType } = context;
    await this.outbox.enqueue(
      trx,
      ENROLLMENT_DEVICES,
      changed.map((device) => deviceStatusEvent(device, now)),
    );
    await this.outbox.enqueue(
      trx,
      DEVICE_LIFECYCLE,
      changed.map((device) => lifecycleEvent(device, lifecycleType, actor, now)),
    );
    return rows.map((row) => outcomes.get(row)!);
  }

  private async enrollExisting(
    trx: Executor,
    context: EnrollmentContext,
    row: EnrollmentRow,
    device: DeviceRow,
    identityOwners: Map<string, string>,
  ): Promise<EnrollmentOutcome> {
    const { now } = context;
    if (context.uploadId !== undefined && device.last_upload_id === context.uploadId)
      return rejected(row, 'DUPLICATE', REASONS.duplicate(0));
    // A revoked credential stays refused: a re-upload of the old list does not bring it back.
    if (device.credential_revoked_at !== null && this.holdsCredential(device, row.credential))
      return rejected(row, 'ENROLLMENT_LOCKED', REASONS.revoked);
    if (this.sameEnrollment(device, row, context)) return { line: row.line, status: 'unchanged', device };
    if (nextState(device.state, 'enroll') === undefined)
      return rejected(row, 'ENROLLMENT_LOCKED', REASONS.locked(device.state));
    if (row.credential.kind === 'psk') {
      const owner = identityOwners.get(row.credential.pskIdentity);
      if (owner !== undefined && owner !== row.endpointName)
        return rejected(row, 'PSK_IDENTITY_IN_USE', REASONS.pskIdentityInUse);
      identityOwners.set(row.credential.pskIdentity, row.endpointName);
      if (device.psk_identity !== null && device.psk_identity !== row.credential.pskIdentity)
        identityOwners.delete(device.psk_identity);
    }
    const updated = await this.devices.update(
      trx,
      context.tenantId,
      row.endpointName,
      { ...this.columnsFor(row, context), state: 'ENROLLED' },
      now,
    );
    return { line: row.line, status: 'accepted', device: updated };
  }

  /** The row as stored: credential (a PSK sealed under the KEK), labels, claim expiry, upload. */
  private columnsFor(row: EnrollmentRow, context: EnrollmentContext) {
    return {
      tenant_id: context.tenantId,
      ...this.credentialColumns(row),
      model: row.model ?? null,
      class_id: row.classId ?? null,
      batch_id: row.batchId ?? null,
      claim_expires_at: context.claimExpiresAt ?? null,
      last_upload_id: context.uploadId ?? null,
      operational_certificate_serial: null,
    } satisfies Omit<Insertable<DevicesTable>, 'endpoint_name' | 'state'>;
  }

  /** The stored columns of a credential (a PSK sealed under the KEK); a new credential is not revoked. */
  credentialColumns({ credential, endpointName }: Pick<EnrollmentRow, 'credential' | 'endpointName'>) {
    if (credential.kind === 'certificate') {
      return {
        credential_revoked_at: null,
        credential_kind: 'certificate' as const,
        certificate_fingerprint: credential.fingerprintSha256,
        psk_identity: null,
        psk_key_ciphertext: null,
        psk_key_iv: null,
        psk_key_tag: null,
        psk_key_digest: null,
      };
    }
    const sealed = this.cipher.seal(credential.pskKey, endpointName);
    return {
      credential_revoked_at: null,
      credential_kind: 'psk' as const,
      certificate_fingerprint: null,
      psk_identity: credential.pskIdentity,
      psk_key_ciphertext: sealed.ciphertext,
      psk_key_iv: sealed.iv,
      psk_key_tag: sealed.tag,
      psk_key_digest: sealed.digest,
    };
  }

  /** Whether the device's credential (accepted or revoked) is this one: a PSK compared by its digest. */
  holdsCredential(device: DeviceRow, credential: EnrollmentCredential): boolean {
    if (device.credential_kind !== credential.kind) return false;
    if (credential.kind === 'certificate')
      return device.certificate_fingerprint === credential.fingerprintSha256;
    if (device.psk_identity !== credential.pskIdentity || !device.psk_key_digest) return false;
    return timingSafeEqual(this.cipher.digest(credential.pskKey), device.psk_key_digest);
  }

  private sameEnrollment(device: DeviceRow, row: EnrollmentRow, context: EnrollmentContext): boolean {
    if (!this.holdsCredential(device, row.credential)) return false;
    if (
      device.model !== (row.model ?? null) ||
      device.class_id !== (row.classId ?? null) ||
      device.batch_id !== (row.batchId ?? null)
    )
      return false;
    // A claim's expiry matters only until the meter bootstraps.
    if (device.state !== 'ENROLLED') return true;
    return (device.claim_expires_at?.getTime() ?? null) === (context.claimExpiresAt?.getTime() ?? null);
  }
}

function rejected(row: EnrollmentRow, code: RefusalCode, reason: string): EnrollmentOutcome {
  return { line: row.line, status: 'rejected', code, reason };
}
