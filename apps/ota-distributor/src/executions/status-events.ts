import { randomUUID } from 'node:crypto';
import { OTA_EXECUTION_STATES, type OtaDeviceStatusV2Event } from '@meterkeep/contracts';
import { countMetric, startCounterAtZero } from '@meterkeep/observability';
import type { ExecutionRow } from '../core/database';
import type { ExecutionWithDeployment } from './executions.repository';

/** Executions counted from 0 in every state, so the first ones after a start show in rate(). */
export function startExecutionCounterAtZero(): void {
  startCounterAtZero(
    'otaExecutions',
    OTA_EXECUTION_STATES.map((state) => ({ 'meterkeep.ota.state': state })),
  );
}

/**
 * The ota.device-status.v2 event of an execution as it now is (the deployment stands for the campaign;
 * a campaign's executions hang on a deployment of the campaign's id, and carry their phase).
 */
export function deviceStatusEvent(
  execution: ExecutionRow,
  deployment: Pick<ExecutionWithDeployment['deployment'], 'manifest_digest' | 'sequence_number'> & {
    deployment_id?: string;
  },
  now: Date,
  extra: { failureCode?: string; receiptDigest?: string; progressPercent?: number } = {},
): OtaDeviceStatusV2Event {
  const failureCode = extra.failureCode ?? execution.failure_code ?? undefined;
  // Every state an execution enters (and each progress report within one) goes out as this event: the one place to
  // count them (a transaction rolled back after building it counts once too many).
  countMetric('otaExecutions', { 'meterkeep.ota.state': execution.state });
  return {
    eventId: randomUUID(),
    tenantId: execution.tenant_id,
    occurredAt: now.toISOString(),
    deviceId: execution.device_id,
    campaignId: execution.deployment_id,
    executionId: execution.execution_id,
    attempt: execution.attempt,
    // Phase 0 holds a campaign's shadow-run twins (campaigns/domain/shadow.ts): in no phase of the fleet.
    ...(execution.phase === 0 && { shadowRun: true as const }),
    ...(execution.phase !== null &&
      execution.phase !== undefined &&
      execution.phase > 0 && { phase: execution.phase }),
    state: execution.state,
    ...(extra.progressPercent !== undefined && { progressPercent: extra.progressPercent }),
    manifestDigest: deployment.manifest_digest,
    sequenceNumber: Number(deployment.sequence_number),
    ...(failureCode !== undefined && { failureCode: failureCode }),
    ...((extra.receiptDigest ?? execution.receipt_digest) && {
      receiptDigest: (extra.receiptDigest ?? execution.receipt_digest)!,
    }),
  };
}
