import { createPublicKey, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type FirmwareManifestView, OTA_FIRMWARE, type OtaFirmwareEvent } from '@meterkeep/contracts';
import {
  type FirmwareManifest,
  MAX_ENVELOPE_BYTES,
  type VerifiedManifest,
  componentName,
  sha256Hex,
  verifyManifestEnvelope,
} from '@meterkeep/firmware';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { Executor, ManifestComponentRecord, ManifestRow } from '../core/database';
import { DeviceClassesRepository } from '../device-classes/device-classes.repository';
import { FirmwareStore } from '../images/firmware-store';
import { imageKeys } from '../images/image-keys';
import { ImagesRepository } from '../images/images.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { UpdateAuthoritiesRepository } from '../update-authorities/update-authorities.repository';
import { manifestView } from './manifest.view';
import { ManifestErrors, ManifestRefusal, type ManifestRefusalCode } from './manifests.errors';
import { ManifestsRepository } from './manifests.repository';

export interface AcceptedManifest {
  answer: FirmwareManifestView;
  /** False when these exact bytes were accepted before: the same manifest, 200. */
  created: boolean;
}

const refuse = (code: ManifestRefusalCode, message: string) => ManifestErrors.refused(code, message);

/**
 * Accepts a signed manifest envelope (spec §6.1) only when every rule holds, in this order:
 * 1. the signatures verify, as a meter verifies them (@meterkeep/firmware), to the tenant's registered,
 *    unrevoked update authorities as roots (delegated signing keys certified by one of them count);
 *    a signature by a revoked authority is SIGNING_KEY_REVOKED;
 * 2. it has not expired (an endOfLife manifest carries no expiry);
 * 3. its class is the tenant's (else CLASS_MISMATCH) and of the manifest's vendor (VENDOR_MISMATCH);
 * 4. every component's payload is a `verified` image of that class and component with the same
 *    SHA-256 and size. The payload is what a meter fetches: for `zstd` the compressed bytes, for a
 *    `zstd-patch` delta the patch itself (uploaded as an image of the component). The result of
 *    patching (`resultDigest`) and the precursor are the meter's to check; neither needs an image here;
 * 5. under a lock per (tenant, class), its sequence number is above every sequence accepted for each
 *    of its components in the class, revoked manifests included (SEQUENCE_ROLLBACK).
 * The exact bytes go to their content-addressed key (never overwritten), then the row, the
 * `ota.manifest-accepted` audit record and the `ota.firmware.v1` `accepted` event commit together.
 * A refusal is audited `ota.manifest-refused` with its code only. The same bytes again answer the
 * manifest they made (idempotent); the same manifest in other bytes is 409.
 */
@Injectable()
export class AcceptManifestUseCase {
  constructor(
    private readonly manifests: ManifestsRepository,
    private readonly authorities: UpdateAuthoritiesRepository,
    private readonly classes: DeviceClassesRepository,
    private readonly images: ImagesRepository,
    private readonly store: FirmwareStore,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, envelope: Buffer): Promise<AcceptedManifest> {
    if (envelope.length > MAX_ENVELOPE_BYTES) throw ManifestErrors.tooLarge(MAX_ENVELOPE_BYTES);
    const envelopeSha256 = sha256Hex(envelope);
    const known = await this.manifests.findByEnvelope(caller.tenantId, envelopeSha256);
    if (known) return { answer: manifestView(known), created: false };
    try {
      return await this.accept(caller, envelope, envelopeSha256);
    } catch (error) {
      if (error instanceof ManifestRefusal) await this.auditRefusal(caller, envelopeSha256, error.refusal);
      throw error;
    }
  }

  private async accept(caller: Caller, envelope: Buffer, envelopeSha256: string): Promise<AcceptedManifest> {
    const now = new Date();
    const verified = await this.verifySignatures(caller.tenantId, envelope, now);
    const { manifest, digest } = verified;
    if (manifest.expiresAt !== undefined && Date.parse(manifest.expiresAt) <= now.getTime()) {
      throw refuse('MANIFEST_EXPIRED', `The manifest expired at ${manifest.expiresAt}`);
    }
    const deviceClass = await this.classes.find(caller.tenantId, manifest.classId);
    if (!deviceClass) throw refuse('CLASS_MISMATCH', `No device class ${manifest.classId} in this tenant`);
    if (deviceClass.vendor_id !== manifest.vendorId) {
      throw refuse(
        'VENDOR_MISMATCH',
        `Class ${manifest.classId} belongs to vendor ${deviceClass.vendor_id}, not ${manifest.vendorId}`,
      );
    }
    await this.checkImages(caller.tenantId, manifest);

    const objectKey = imageKeys.manifest(caller.tenantId, manifest.classId, manifest.sequenceNumber, digest);
    const components = manifest.components.map(componentRecord);
    const result = await this.transactions.run(async (trx) => {
      await this.manifests.lockClass(trx, caller.tenantId, manifest.classId);
      const existing = await this.manifests.findByDigest(trx, caller.tenantId, digest);
      if (existing) {
        // The same bytes accepted by a concurrent request: that manifest is the answer.
        if (existing.envelope_sha256 === envelopeSha256) return { row: existing, created: false };
        throw ManifestErrors.acceptedElsewhere(existing.manifest_id);
      }
      await this.checkSequence(trx, caller.tenantId, manifest, components);
      if (!(await this.store.putIfAbsent(objectKey, envelope, 'application/json'))) {
        throw ManifestErrors.objectConflict();
      }
      const row = await this.manifests.insert(
        trx,
        {
          manifestId: randomUUID(),
          tenantId: caller.tenantId,
          digest,
          envelopeSha256,
          classId: manifest.classId,
          vendorId: manifest.vendorId,
          sequenceNumber: manifest.sequenceNumber,
          components,
          issuedAt: manifest.issuedAt,
          expiresAt: manifest.expiresAt ?? null,
          objectKey,
          signerKeyIds: verified.signerKeyIds,
        },
        now,
      );
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.manifest-accepted',
          actor: caller.actor,
          subject: row.manifest_id,
          outcome: 'allowed',
          detail: {
            manifestDigest: digest,
            classId: manifest.classId,
            sequenceNumber: manifest.sequenceNumber,
            components: components.map((c) => `${c.id}@${c.version}:${c.digest.value}`).join(' '),
            signerKeyIds: verified.signerKeyIds.join(' '),
            ...(manifest.provenance && {
              sourceDigest: manifest.provenance.sourceDigest,
              builder: manifest.provenance.builder,
              sbomDigest: manifest.provenance.sbomDigest,
            }),
          },
        },
      ]);
      await this.outbox.enqueue(trx, OTA_FIRMWARE, [firmwareEvent(row, 'accepted', manifest, now)]);
      return { row, created: true };
    });
    return { answer: manifestView(result.row), created: result.created };
  }

  private async verifySignatures(tenantId: string, envelope: Buffer, now: Date): Promise<VerifiedManifest> {
    const authorities = await this.authorities.list(tenantId);
    const verification = verifyManifestEnvelope(
      envelope,
      {
        rootPublicKeys: authorities
          .filter((authority) => authority.revoked_at === null)
          .map((authority) => createPublicKey(authority.public_key_pem)),
        revokedKeyIds: new Set(
          authorities
            .filter((authority) => authority.revoked_at !== null)
            .map((authority) => authority.key_id),
        ),
      },
      now,
    );
    if (!verification.ok) throw refuse(verification.code, verification.message);
    return verification;
  }

  private async checkImages(tenantId: string, manifest: FirmwareManifest): Promise<void> {
    for (const component of manifest.components) {
      const id = component.id[0];
      const name = componentName(component);
      const image = await this.images.findVerified(tenantId, manifest.classId, id, component.digest.value);
      if (!image) {
        const declared = await this.images.findAny(tenantId, manifest.classId, id, component.digest.value);
        if (declared) {
          throw refuse(
            'IMAGE_NOT_VERIFIED',
            `The ${name} image ${component.digest.value} is ${declared.state}`,
          );
        }
        throw refuse(
          'DIGEST_MISMATCH',
          `No verified ${name} image of class ${manifest.classId} has SHA-256 ${component.digest.value}`,
        );
      }
      if (Number(image.size) !== component.size) {
        throw refuse(
          'SIZE_MISMATCH',
          `The ${name} image ${component.digest.value} has ${image.size} bytes; the manifest says ${component.size}`,
        );
      }
    }
  }

  private async checkSequence(
    trx: Executor,
    tenantId: string,
    manifest: FirmwareManifest,
    components: readonly ManifestComponentRecord[],
  ): Promise<void> {
    const highest = await this.manifests.highestSequences(
      trx,
      tenantId,
      manifest.classId,
      components.map((c) => c.id),
    );
    for (const component of components) {
      const accepted = highest.get(component.id);
      if (accepted !== undefined && manifest.sequenceNumber <= accepted) {
        throw refuse(
          'SEQUENCE_ROLLBACK',
          `Component ${component.id} of class ${manifest.classId} has an accepted manifest with sequence ${accepted}; this one has ${manifest.sequenceNumber}`,
        );
      }
    }
  }

  /** The refusal on the tenant's chain: the code only (the message may quote the caller's input). */
  private async auditRefusal(caller: Caller, envelopeSha256: string, code: ManifestRefusalCode) {
    await this.transactions.run((trx) =>
      this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.manifest-refused',
          actor: caller.actor,
          subject: envelopeSha256,
          outcome: 'refused',
          detail: { code },
        },
      ]),
    );
  }
}

function componentRecord(component: FirmwareManifest['components'][number]): ManifestComponentRecord {
  return {
    id: component.id[0],
    version: component.version,
    format: component.format,
    digest: component.digest,
    size: component.size,
    ...(component.precursorDigest && { precursorDigest: component.precursorDigest }),
    ...(component.resultDigest && { resultDigest: component.resultDigest }),
    ...(component.resultSize !== undefined && { resultSize: component.resultSize }),
  };
}

export function firmwareEvent(
  row: ManifestRow,
  type: OtaFirmwareEvent['type'],
  manifest: Pick<FirmwareManifest, 'provenance'> | undefined,
  now: Date,
): OtaFirmwareEvent {
  return {
    eventId: randomUUID(),
    tenantId: row.tenant_id,
    occurredAt: now.toISOString(),
    type,
    manifestDigest: row.digest,
    classId: row.class_id,
    sequenceNumber: Number(row.sequence_number),
    components: row.components.map((c) => ({
      id: c.id,
      version: c.version,
      digest: c.digest.value,
      size: c.size,
    })),
    ...(manifest?.provenance && { provenance: manifest.provenance }),
  };
}
