import { Inject, Injectable } from '@nestjs/common';
import type { OtaComponentId } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, ImageRow } from '../core/database';

export interface NewImage {
  imageId: string;
  tenantId: string;
  classId: string;
  component: OtaComponentId;
  sha256: string;
  size: number;
  stagingKey: string;
  uploadId: string;
}

/** A `verifying` claim older than this was left by a request that died: another may take it over. */
export const STALE_CLAIM_MS = 10 * 60_000;

/** Firmware images. Every read names the tenant. */
@Injectable()
export class ImagesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(tenantId: string, imageId: string): Promise<ImageRow | undefined> {
    return this.db
      .selectFrom('images')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('image_id', '=', imageId)
      .executeTakeFirst();
  }

  /** The first verified image of this class and component with this digest. */
  findVerified(tenantId: string, classId: string, component: OtaComponentId, sha256: string) {
    return this.db
      .selectFrom('images')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('class_id', '=', classId)
      .where('component', '=', component)
      .where('sha256', '=', sha256)
      .where('state', '=', 'verified')
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
  }

  /** The latest image of this class and component declared with this digest, in any state. */
  findAny(tenantId: string, classId: string, component: OtaComponentId, sha256: string) {
    return this.db
      .selectFrom('images')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('class_id', '=', classId)
      .where('component', '=', component)
      .where('sha256', '=', sha256)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  insert(image: NewImage, now: Date): Promise<ImageRow> {
    return this.db
      .insertInto('images')
      .values({
        image_id: image.imageId,
        tenant_id: image.tenantId,
        class_id: image.classId,
        component: image.component,
        sha256: image.sha256,
        size: image.size,
        state: 'pending',
        staging_key: image.stagingKey,
        upload_id: image.uploadId,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Takes a pending upload for verification (state `verifying`), so two completes of one image never
   * verify at once; undefined when it is not pending (nor a stale claim).
   */
  claim(tenantId: string, imageId: string, now: Date): Promise<ImageRow | undefined> {
    return this.db
      .updateTable('images')
      .set({ state: 'verifying', updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('image_id', '=', imageId)
      .where((eb) =>
        eb.or([
          eb('state', '=', 'pending'),
          eb.and([
            eb('state', '=', 'verifying'),
            eb('updated_at', '<', new Date(now.getTime() - STALE_CLAIM_MS)),
          ]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
  }

  /** Gives a claim back (the part list was wrong, S3 failed): the upload may complete again. */
  async release(imageId: string): Promise<void> {
    await this.db
      .updateTable('images')
      .set({ state: 'pending', updated_at: new Date() })
      .where('image_id', '=', imageId)
      .where('state', '=', 'verifying')
      .execute();
  }

  markVerified(trx: Executor, imageId: string, at: Date): Promise<ImageRow> {
    return trx
      .updateTable('images')
      .set({ state: 'verified', verified_at: at, updated_at: at })
      .where('image_id', '=', imageId)
      .where('state', '=', 'verifying')
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  markRefused(trx: Executor, imageId: string, code: string, at: Date): Promise<ImageRow> {
    return trx
      .updateTable('images')
      .set({ state: 'refused', refusal_code: code, updated_at: at })
      .where('image_id', '=', imageId)
      .where('state', '=', 'verifying')
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
