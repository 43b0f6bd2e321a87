import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { FirmwareImageCreate, FirmwareImageUpload } from '@meterkeep/contracts';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import { DeviceClassErrors } from '../device-classes/device-classes.errors';
import { DeviceClassesRepository } from '../device-classes/device-classes.repository';
import { FirmwareStore } from './firmware-store';
import { imageKeys } from './image-keys';
import { imageView } from './image.view';
import { ImageErrors } from './images.errors';
import { ImagesRepository } from './images.repository';
import { planUpload } from './upload-plan';

export interface CreatedImageUpload {
  answer: FirmwareImageUpload;
  /** False when an image with this digest was verified already: no upload was started. */
  created: boolean;
}

/**
 * Starts a firmware image upload: the class must be the tenant's and the declared size within its cap
 * (checked before anything is stored); a verified image with the same digest is the answer as is.
 * Otherwise a multipart upload to a staging key of its own, one presigned PUT per part, each URL
 * bound to its part's exact length. The URLs are the caller's secrets: never logged.
 */
@Injectable()
export class CreateImageUploadUseCase {
  constructor(
    private readonly classes: DeviceClassesRepository,
    private readonly images: ImagesRepository,
    private readonly store: FirmwareStore,
    @Inject(CONFIG) private readonly config: Pick<OtaDistributorConfig, 'OTA_UPLOAD_PART_BYTES'>,
  ) {}

  async execute(caller: Caller, body: FirmwareImageCreate): Promise<CreatedImageUpload> {
    const { tenantId } = caller;
    const deviceClass = await this.classes.find(tenantId, body.classId);
    if (!deviceClass) throw DeviceClassErrors.notFound(body.classId);
    const maxBytes = Number(deviceClass.max_image_bytes);
    if (body.size > maxBytes) throw ImageErrors.sizeExceeded(body.classId, maxBytes);

    const existing = await this.images.findVerified(tenantId, body.classId, body.component, body.sha256);
    if (existing) {
      if (Number(existing.size) !== body.size) throw ImageErrors.sizeConflict(Number(existing.size));
      return { answer: { image: imageView(existing), upload: null }, created: false };
    }

    const imageId = randomUUID();
    const stagingKey = imageKeys.staging(tenantId, imageId);
    const plan = planUpload(body.size, this.config.OTA_UPLOAD_PART_BYTES);
    const now = new Date();
    const uploadId = await this.store.startUpload(stagingKey);
    const row = await this.images
      .insert({ imageId, tenantId, ...body, stagingKey, uploadId }, now)
      .catch(async (error: unknown) => {
        await this.store.abortUpload(stagingKey, uploadId).catch(() => undefined);
        throw error;
      });
    const parts = await this.store.presignParts(stagingKey, uploadId, plan.parts);
    const expiresAt = new Date(now.getTime() + this.store.uploadUrlExpirySeconds * 1000);
    return {
      answer: {
        image: imageView(row),
        upload: { partSize: plan.partSize, expiresAt: expiresAt.toISOString(), parts },
      },
      created: true,
    };
  }
}
