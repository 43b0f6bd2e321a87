import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { EnrollmentListErrors } from './enrollment-lists.errors';
import type { RejectedRow, UploadReport } from './enrollment-lists.schemas';
import { EnrollmentUploadsRepository } from './enrollment-uploads.repository';

/** The report of an earlier upload of this tenant. */
@Injectable()
export class GetEnrollmentUploadUseCase {
  constructor(private readonly uploads: EnrollmentUploadsRepository) {}

  async execute(caller: Caller, uploadId: string): Promise<UploadReport> {
    const upload = await this.uploads.find(caller.tenantId, uploadId);
    if (!upload) throw EnrollmentListErrors.notFound();
    const rejectedRows = upload.rejected_rows as RejectedRow[];
    return {
      uploadId: upload.upload_id,
      format: upload.format,
      accepted: upload.accepted,
      unchanged: upload.unchanged,
      rejected: upload.rejected,
      rejectedRows,
      rejectedRowsTruncated: upload.rejected > rejectedRows.length,
      startedAt: upload.started_at.toISOString(),
      finishedAt: upload.finished_at.toISOString(),
    };
  }
}
