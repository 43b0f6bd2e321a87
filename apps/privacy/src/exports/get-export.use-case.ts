import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import { ObjectStore } from '@meterkeep/storage';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { Transactions } from '../outbox/transactions';
import { ArchiveKeys } from './archive-keys';
import { ARCHIVE_ENCRYPTION, toExportView } from './export.view';
import { ExportErrors } from './exports.errors';
import { ExportsRepository } from './exports.repository';
import type { ExportView } from './exports.schemas';

/**
 * An export of the caller's tenant, by subject and id (another subject's or tenant's answers not
 * found). While READY, an admin also gets the link (presigned to lapse when the archive is deleted) and
 * the one-time key that opens the archive; each hand-over is audited.
 */
@Injectable()
export class GetExportUseCase {
  constructor(
    private readonly exports: ExportsRepository,
    private readonly store: ObjectStore,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly archiveKeys: ArchiveKeys,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async execute(caller: Caller, subjectRef: string, exportId: string, now = new Date()): Promise<ExportView> {
    const row = await this.exports.find(caller.tenantId, exportId);
    if (row?.subject_ref !== subjectRef) throw ExportErrors.notFound();
    const lapsesIn = row.expires_at ? Math.floor((row.expires_at.getTime() - now.getTime()) / 1000) : 0;
    if (
      row.state !== 'READY' ||
      caller.role !== 'admin' ||
      !row.object_key ||
      !row.wrapped_archive_key ||
      lapsesIn < 1
    )
      return toExportView(row, null);
    const url = await this.store.presignGet(this.config.PRIVACY_EXPORT_BUCKET, row.object_key, {
      expiresInSeconds: lapsesIn,
    });
    const key = await this.archiveKeys.unwrap({ ...row, wrapped_archive_key: row.wrapped_archive_key });
    await this.transactions.run((trx) =>
      this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.export-link-issued',
          actor: caller.actor,
          subject: row.export_id,
          outcome: 'allowed',
          detail: { expiresAt: row.expires_at!.toISOString() },
        },
      ]),
    );
    const archiveKey = key.toString('base64');
    key.fill(0);
    return toExportView(row, { url, archiveKey, encryption: ARCHIVE_ENCRYPTION });
  }
}
