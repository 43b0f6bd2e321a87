import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { Transactions } from '../outbox/transactions';
import { ExportJob } from './export-job';
import { toExportView } from './export.view';
import { ExportErrors } from './exports.errors';
import { ExportsRepository } from './exports.repository';
import type { ExportView, RequestExportBody } from './exports.schemas';

/**
 * Art. 15/20: records the export (REQUESTED) for the subject's occupancies (all, or those named: each
 * must be the subject's), audited, and nudges the job; the archive is built in the background.
 */
@Injectable()
export class RequestExportUseCase {
  constructor(
    private readonly exports: ExportsRepository,
    private readonly job: ExportJob,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: Pick<PrivacyConfig, 'PRIVACY_EXPORT_LINK_TTL_S'>,
  ) {}

  async execute(caller: Caller, subjectRef: string, body: RequestExportBody): Promise<ExportView> {
    const row = await this.transactions.run(async (trx) => {
      const occupancies = await this.exports.subjectOccupancies(trx, caller.tenantId, subjectRef);
      if (occupancies.length === 0) throw ExportErrors.subjectNotFound();
      const own = new Set(occupancies.map((o) => o.occupancy_id));
      for (const id of body.occupancyIds ?? [])
        if (!own.has(id)) throw ExportErrors.occupancyNotOfSubject(id);
      const occupancyIds = body.occupancyIds ? [...new Set(body.occupancyIds)] : [...own];
      const exportId = `ex-${randomUUID()}`;
      const inserted = await this.exports.insert(trx, {
        exportId,
        tenantId: caller.tenantId,
        subjectRef,
        occupancyIds,
        linkTtlS: body.linkTtlSeconds ?? this.config.PRIVACY_EXPORT_LINK_TTL_S,
        requestedBy: caller.actor,
      });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.export-requested',
          actor: caller.actor,
          subject: exportId,
          outcome: 'allowed',
          detail: { occupancies: occupancyIds.length, linkTtlS: inserted.link_ttl_s },
        },
      ]);
      return inserted;
    });
    void this.job.tick();
    return toExportView(row, null);
  }
}
