import { Injectable } from '@nestjs/common';
import {
  OTA_DEVICE_STATUS_V2,
  OTA_MAX_STATUS_REPORTS,
  type OtaExecutionState,
  type OtaStatusReport,
  type otaStatusAnswer,
} from '@meterkeep/contracts';
import type { z } from 'zod';
import { canonicalBytes, sha256Hex } from '@meterkeep/firmware';
import { CampaignStatusFeed } from '../campaigns/campaign-status-feed';
import { checkReportedTransition, isActive } from '../executions/execution-states';
import { ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import type { AuthenticatedMeter } from './authenticated-meter';
import { OtaDeviceErrors } from './ota-device.errors';

export type StatusOutcome = z.infer<typeof otaStatusAnswer>;

/**
 * A meter's progress report on one of its executions, under a lock on the execution:
 * 1. idempotent per (execution, attempt, seq): the same report again answers recorded:false, another
 *    report under the same key is 409 STATUS_CONFLICT (a repeat is recognised even once the execution
 *    has ended, so a meter retrying its last report is not told off);
 * 2. a finished execution takes no more (409 EXECUTION_CLOSED);
 * 3. at most OTA_MAX_STATUS_REPORTS per execution (429 STATUS_LIMIT_REACHED);
 * 4. only transitions of the state machine (409 STATUS_TRANSITION_INVALID); SUCCEEDED only by receipt.
 * Each accepted report that changes the state or gives progress commits with its ota.device-status.v2
 * event (outbox); a campaign execution's counters move with it (trigger) and an outcome is judged
 * against the campaign's abort rules.
 */
@Injectable()
export class ReportStatusUseCase {
  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    private readonly campaignFeed: CampaignStatusFeed,
  ) {}

  execute(meter: AuthenticatedMeter, executionId: string, report: OtaStatusReport): Promise<StatusOutcome> {
    const reportSha256 = sha256Hex(canonicalBytes(report));
    return this.transactions.run(async (trx) => {
      const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId, trx, true);
      if (!execution) throw OtaDeviceErrors.executionNotFound();
      const known = await this.executions.findReport(trx, execution.execution_id, report.attempt, report.seq);
      if (known) {
        if (known.report_sha256 !== reportSha256) throw OtaDeviceErrors.statusConflict();
        return { state: execution.state, recorded: false };
      }
      if (!isActive(execution.state)) throw OtaDeviceErrors.executionClosed(execution.state);
      if (execution.status_count >= OTA_MAX_STATUS_REPORTS) throw OtaDeviceErrors.statusLimit();
      const reported = report.state as OtaExecutionState;
      const transition = checkReportedTransition(
        execution.state,
        execution.attempt,
        reported,
        report.attempt,
      );
      if (!transition.ok) throw OtaDeviceErrors.transitionInvalid(transition.reason);

      const now = new Date();
      await this.executions.insertReport(trx, execution.execution_id, report, reportSha256, now);
      const changes = reported !== execution.state || report.attempt !== execution.attempt;
      const failureCode = report.failureCode ?? null;
      const campaign = changes ? await this.campaignFeed.prepare(trx, execution, reported) : undefined;
      // A repeat of the state without progress (the meter acknowledging the NOTIFIED the distributor
      // set) tells a consumer nothing: recorded and counted, not published, so each execution's
      // NOTIFIED appears once on the topic. The event goes in before the state change: the change's
      // trigger locks the campaign's counter rows, which every status of the campaign needs, so the
      // change is the last write before commit.
      if (changes || report.progressPercent !== undefined)
        await this.outbox.enqueue(trx, OTA_DEVICE_STATUS_V2, [
          deviceStatusEvent(
            changes
              ? { ...execution, state: reported, attempt: report.attempt, failure_code: failureCode }
              : execution,
            execution.deployment,
            now,
            {
              ...(report.failureCode !== undefined && { failureCode: report.failureCode }),
              ...(report.progressPercent !== undefined && { progressPercent: report.progressPercent }),
            },
          ),
        ]);
      const updated = changes
        ? await this.executions.changeState(
            trx,
            execution.execution_id,
            { state: reported, attempt: report.attempt, failureCode, countReport: true },
            now,
          )
        : await this.executions.countReport(trx, execution.execution_id, now);
      if (changes) await this.campaignFeed.afterStatus(trx, campaign, updated, now);
      return { state: updated.state, recorded: true };
    });
  }
}
