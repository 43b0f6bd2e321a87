import type { FirmwareDeploymentView, FirmwareExecutionView, OtaExecutionState } from '@meterkeep/contracts';
import type { DeploymentRow, ExecutionRow } from '../core/database';
import { isActive } from '../executions/execution-states';

export function deploymentView(
  row: DeploymentRow,
  counts: Partial<Record<OtaExecutionState, number>>,
): FirmwareDeploymentView {
  const unfinished = Object.entries(counts).some(
    ([state, n]) => n > 0 && isActive(state as OtaExecutionState),
  );
  return {
    deploymentId: row.deployment_id,
    manifestId: row.manifest_id,
    manifestDigest: row.manifest_digest,
    classId: row.class_id,
    sequenceNumber: Number(row.sequence_number),
    actionType: row.action_type,
    state: unfinished ? 'RUNNING' : 'COMPLETED',
    counts: counts,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

export function executionView(row: ExecutionRow): FirmwareExecutionView {
  return {
    executionId: row.execution_id,
    deviceId: row.device_id,
    state: row.state,
    attempt: row.attempt,
    failureCode: row.failure_code ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}
