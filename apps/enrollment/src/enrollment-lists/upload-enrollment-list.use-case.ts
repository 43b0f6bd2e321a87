import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { DeviceEnroller } from '../devices/device-enroller';
import type { EnrollmentRow } from '../devices/enrollment-row';
import { Transactions } from '../outbox/transactions';
import { EnrollmentListParser, type ListFormat } from './enrollment-list.parser';
import { EnrollmentListErrors } from './enrollment-lists.errors';
import type { UploadReport } from './enrollment-lists.schemas';
import { EnrollmentUploadsRepository } from './enrollment-uploads.repository';
import { ListTooLargeError, readLines } from './line-reader';
import { UploadReportBuilder } from './upload-report';

export const UPLOAD_LIMITS = {
  maxRows: 1_000_000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxLineBytes: 4096,
  batchRows: 1_000,
  maxListedRejections: 1_000,
} as const;

export interface UploadCommand {
  format: ListFormat;
  /** The request body, read as it arrives: the list is never held whole in memory. */
  body: AsyncIterable<Uint8Array>;
  /** Content-Length when the client sent one: refused at once when over the cap. */
  declaredBytes?: number;
}

/**
 * Enrolls the meters of an uploaded list, streamed: lines are parsed and validated one by one,
 * rejected rows reported with their line and reason, valid rows enrolled in batches (one transaction
 * each, with their events). Re-uploading a list is idempotent: rows enrolled already count as unchanged.
 */
@Injectable()
export class UploadEnrollmentListUseCase {
  constructor(
    private readonly enroller: DeviceEnroller,
    private readonly uploads: EnrollmentUploadsRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, { format, body, declaredBytes }: UploadCommand): Promise<UploadReport> {
    const limits = UPLOAD_LIMITS;
    if (declaredBytes !== undefined && declaredBytes > limits.maxTotalBytes)
      throw EnrollmentListErrors.tooLarge(`${limits.maxTotalBytes} bytes`);
    const uploadId = randomUUID();
    const startedAt = new Date();
    const parser = new EnrollmentListParser(format, limits.maxLineBytes);
    const report = new UploadReportBuilder(limits.maxListedRejections);
    let batch: EnrollmentRow[] = [];
    let rows = 0;

    const flush = async () => {
      const pending = batch;
      batch = [];
      if (pending.length === 0) return;
      try {
        const outcomes = await this.transactions.run((trx) =>
          this.enroller.enroll(
            trx,
            {
              tenantId: caller.tenantId,
              actor: caller.actor,
              now: new Date(),
              lifecycleType: 'enrolled',
              uploadId,
            },
            pending,
          ),
        );
        for (const outcome of outcomes) {
          switch (outcome.status) {
            case 'accepted':
              report.accepted++;
              break;
            case 'unchanged':
              report.unchanged++;
              break;
            case 'rejected':
              report.reject(outcome.line, outcome.reason);
              break;
          }
        }
      } finally {
        wipeKeys(pending);
      }
    };

    try {
      for await (const line of readLines(body, limits)) {
        const outcome = parser.parse(line);
        switch (outcome.kind) {
          case 'blank':
          case 'header':
            continue;
          case 'invalid-header':
            throw EnrollmentListErrors.invalidHeader(outcome.message);
          case 'rejected':
            report.reject(outcome.line, outcome.reason);
            break;
          case 'row':
            batch.push(outcome.row);
            break;
        }
        if (++rows > limits.maxRows) throw EnrollmentListErrors.tooLarge(`${limits.maxRows} rows`);
        if (batch.length >= limits.batchRows) await flush();
      }
      await flush();
    } catch (error) {
      if (error instanceof ListTooLargeError)
        throw EnrollmentListErrors.tooLarge(`${limits.maxTotalBytes} bytes`);
      throw error;
    } finally {
      wipeKeys(batch);
    }
    if (rows === 0) throw EnrollmentListErrors.empty();

    const finishedAt = new Date();
    const result: UploadReport = {
      uploadId,
      format,
      accepted: report.accepted,
      unchanged: report.unchanged,
      rejected: report.rejected,
      rejectedRows: report.rejectedRows,
      rejectedRowsTruncated: report.truncated,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    };
    await this.transactions.run(async (trx) => {
      await this.uploads.insert(trx, {
        upload_id: uploadId,
        tenant_id: caller.tenantId,
        format,
        actor: caller.actor,
        accepted: result.accepted,
        unchanged: result.unchanged,
        rejected: result.rejected,
        rejected_rows: JSON.stringify(result.rejectedRows),
        started_at: startedAt,
        finished_at: finishedAt,
      });
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'enrollment.list-uploaded',
          actor: caller.actor,
          subject: uploadId,
          outcome: 'allowed',
          detail: {
            format,
            accepted: result.accepted,
            unchanged: result.unchanged,
            rejected: result.rejected,
          },
        },
      ]);
    });
    return result;
  }
}

/** PSKs leave memory as soon as they are sealed or refused. */
function wipeKeys(rows: readonly EnrollmentRow[]): void {
  for (const row of rows) if (row.credential.kind === 'psk') row.credential.pskKey.fill(0);
}
