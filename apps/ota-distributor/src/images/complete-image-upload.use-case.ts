import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { FirmwareImageComplete, FirmwareImageView } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { type Caller, LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { ImageRow } from '../core/database';
import { Transactions } from '../outbox/transactions';
import { FirmwareStore } from './firmware-store';
import { imageKeys } from './image-keys';
import { imageView } from './image.view';
import { type ImageRefusalCode, ImageErrors } from './images.errors';
import { ImagesRepository } from './images.repository';
import { isWholePartList } from './upload-plan';

/**
 * Finishes an upload and decides, from the bytes alone, whether they are the declared image: S3
 * assembles the parts on the staging key; the object's length is checked first (a HEAD, no read),
 * then the distributor streams it once and recomputes SHA-256 (S3Proxy keeps no whole-object SHA-256
 * of a multipart upload, so this is the only check, and the same one on AWS). Match: copied to its
 * content-addressed key unless an object is there already (never overwritten), `verified`, audited
 * `ota.image-verified`. Mismatch: the staging object deleted, `refused`, audited `ota.image-refused`.
 */
@Injectable()
export class CompleteImageUploadUseCase {
  constructor(
    private readonly images: ImagesRepository,
    private readonly store: FirmwareStore,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(caller: Caller, imageId: string, body: FirmwareImageComplete): Promise<FirmwareImageView> {
    const image = await this.images.claim(caller.tenantId, imageId, new Date());
    if (!image) {
      const current = await this.images.find(caller.tenantId, imageId);
      if (!current) throw ImageErrors.notFound();
      throw ImageErrors.notPending(current.state);
    }
    try {
      return await this.verify(caller, image, body);
    } catch (error) {
      // Anything but a decision (verified or refused) leaves the upload to complete again.
      await this.images.release(image.image_id);
      throw error;
    }
  }

  private async verify(caller: Caller, image: ImageRow, body: FirmwareImageComplete) {
    const size = Number(image.size);
    const parts = body.parts.map((part) => ({ partNumber: part.partNumber, eTag: part.etag }));
    if (!isWholePartList(parts.map((part) => part.partNumber))) throw ImageErrors.partsInvalid();
    if (!(await this.store.completeUpload(image.staging_key, image.upload_id, parts)))
      throw ImageErrors.partsInvalid();

    const storedSize = await this.store.size(image.staging_key);
    if (storedSize !== size)
      return this.refuse(caller, image, 'SIZE_MISMATCH', { actualSize: storedSize ?? 0 });
    const measured = await this.store.digest(image.staging_key, size);
    if (measured.bytes !== size)
      return this.refuse(caller, image, 'SIZE_MISMATCH', { actualSize: measured.bytes });
    if (measured.sha256Hex !== image.sha256)
      return this.refuse(caller, image, 'DIGEST_MISMATCH', { actualSha256: measured.sha256Hex });

    const key = imageKeys.verified(image.tenant_id, image.class_id, image.sha256);
    const now = new Date();
    const verified = await this.transactions.run(async (trx) => {
      // One writer per content-addressed key at a time: the HEAD-then-copy below is not atomic on
      // servers that ignore If-None-Match on a copy.
      await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
      const copied = await this.store.copyIfAbsent(image.staging_key, key);
      const row = await this.images.markVerified(trx, image.image_id, now);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.image-verified',
          actor: caller.actor,
          subject: image.image_id,
          outcome: 'allowed',
          detail: {
            classId: image.class_id,
            component: image.component,
            sha256: image.sha256,
            size,
            object: copied ? 'stored' : 'existing',
          },
        },
      ]);
      return row;
    });
    await this.deleteStaging(image);
    return imageView(verified);
  }

  private async refuse(
    caller: Caller,
    image: ImageRow,
    code: ImageRefusalCode,
    measured: Record<string, string | number>,
  ): Promise<never> {
    // The bytes go first: a refused image leaves nothing behind, whatever happens next.
    await this.store.delete(image.staging_key);
    await this.transactions.run(async (trx) => {
      await this.images.markRefused(trx, image.image_id, code, new Date());
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.image-refused',
          actor: caller.actor,
          subject: image.image_id,
          outcome: 'refused',
          detail: {
            code,
            classId: image.class_id,
            component: image.component,
            declaredSha256: image.sha256,
            declaredSize: Number(image.size),
            ...measured,
          },
        },
      ]);
    });
    throw ImageErrors.refused(code);
  }

  /** The verified bytes live on under their digest; the staging copy is only clutter now. */
  private async deleteStaging(image: ImageRow): Promise<void> {
    await this.store.delete(image.staging_key).catch((error: unknown) => {
      this.logger.warn({ err: error, imageId: image.image_id }, 'could not delete a staging object');
    });
  }
}
