import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@meterkeep/service-runtime';
import { ObjectStore } from '@meterkeep/storage';
import type { PrivacyConfig } from '../config';
import type { Executor } from '../core/database';

export interface PurgedExport {
  bucket: string;
  key: string;
  action: 'deleted';
}

/**
 * An erasure's part in exports (spec privacy.md §4.5 step 4): every archive of the subject is deleted
 * from S3 and its key forgotten (READY → EXPIRED), an export not yet built is stopped (FAILED,
 * SUBJECT_ERASED), in the erasure's own transaction; the certificate lists the objects deleted.
 */
@Injectable()
export class ExportsPurge {
  constructor(
    private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_EXPORT_BUCKET'>,
  ) {}

  async purge(trx: Executor, tenantId: string, subjectRef: string, at: Date): Promise<number> {
    const rows = await trx
      .selectFrom('exports')
      .select(['export_id', 'state', 'object_key'])
      .where('tenant_id', '=', tenantId)
      .where('subject_ref', '=', subjectRef)
      .where('state', 'in', ['REQUESTED', 'RUNNING', 'READY'])
      .forUpdate()
      .execute();
    for (const row of rows) {
      if (row.object_key) await this.store.delete(this.config.PRIVACY_EXPORT_BUCKET, row.object_key);
      await trx
        .updateTable('exports')
        .set(
          row.state === 'READY'
            ? { state: 'EXPIRED', wrapped_archive_key: null, expired_at: at }
            : {
                state: 'FAILED',
                error: 'SUBJECT_ERASED: the subject was erased before the export was built',
                lease_owner: null,
                lease_until: null,
              },
        )
        .where('export_id', '=', row.export_id)
        .execute();
    }
    return rows.length;
  }

  /** The subject's archives that no longer exist, for the certificate's S3 inventory. */
  async deleted(db: Executor, tenantId: string, subjectRef: string): Promise<PurgedExport[]> {
    const rows = await db
      .selectFrom('exports')
      .select('object_key')
      .where('tenant_id', '=', tenantId)
      .where('subject_ref', '=', subjectRef)
      .where('state', '=', 'EXPIRED')
      .where('object_key', 'is not', null)
      .orderBy('requested_at')
      .execute();
    return rows.map((r) => ({
      bucket: this.config.PRIVACY_EXPORT_BUCKET,
      key: r.object_key!,
      action: 'deleted',
    }));
  }
}
