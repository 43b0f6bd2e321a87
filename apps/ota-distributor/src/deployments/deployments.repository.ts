import { Inject, Injectable } from '@nestjs/common';
import type { OtaExecutionState } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeploymentActionType, DeploymentRow, Executor, ExecutionRow } from '../core/database';
import { ACTIVE_STATES } from '../executions/execution-states';

export interface NewDeployment {
  deploymentId: string;
  tenantId: string;
  manifestId: string;
  manifestDigest: string;
  fallbackManifestId: string | null;
  classId: string;
  sequenceNumber: number;
  actionType: DeploymentActionType;
  forceAt: string | null;
  window: { startsAt: string; endsAt: string } | null;
  createdBy: string;
}

/** Deployments and the operator's reads of their executions. Every read names the tenant. */
@Injectable()
export class DeploymentsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  insert(trx: Executor, d: NewDeployment, now: Date): Promise<DeploymentRow> {
    return trx
      .insertInto('deployments')
      .values({
        deployment_id: d.deploymentId,
        tenant_id: d.tenantId,
        manifest_id: d.manifestId,
        manifest_digest: d.manifestDigest,
        fallback_manifest_id: d.fallbackManifestId,
        class_id: d.classId,
        sequence_number: d.sequenceNumber,
        action_type: d.actionType,
        force_at: d.forceAt,
        window_starts_at: d.window?.startsAt ?? null,
        window_ends_at: d.window?.endsAt ?? null,
        created_by: d.createdBy,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  find(tenantId: string, deploymentId: string): Promise<DeploymentRow | undefined> {
    return this.db
      .selectFrom('deployments')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('deployment_id', '=', deploymentId)
      .executeTakeFirst();
  }

  /** Executions of a deployment counted by state. */
  async counts(deploymentId: string): Promise<Partial<Record<OtaExecutionState, number>>> {
    const rows = await this.db
      .selectFrom('executions')
      .select(['state', (eb) => eb.fn.countAll<string>().as('n')])
      .where('deployment_id', '=', deploymentId)
      .groupBy('state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** A page of executions by device id, after `after` (keyset), optionally of one state. */
  executions(
    deploymentId: string,
    options: { state?: OtaExecutionState; after?: string; limit: number },
  ): Promise<ExecutionRow[]> {
    let query = this.db
      .selectFrom('executions')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('device_id')
      .limit(options.limit);
    if (options.state) query = query.where('state', '=', options.state);
    if (options.after !== undefined) query = query.where('device_id', '>', options.after);
    return query.execute();
  }

  /** The device's unfinished execution, if any (the firmware view's `active`). */
  activeExecution(tenantId: string, deviceId: string): Promise<ExecutionRow | undefined> {
    return this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where('state', 'in', ACTIVE_STATES)
      .executeTakeFirst();
  }
}
