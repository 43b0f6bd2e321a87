import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { OtaComponentId, OtaExecutionState, OtaStatusReport } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeploymentRow, DeviceState, Executor, ExecutionRow, StoredDirective } from '../core/database';
import type { CampaignState } from '../campaigns/domain/state-machines';
import { ACTIVE_STATES, BEFORE_INSTALL_STATES } from './execution-states';

/** What a check-in decides on, read in one indexed query: the device and its latest execution. */
export interface CheckInView {
  deviceState: DeviceState | null;
  reportedManifestDigest: string | null;
  /** The hardware revision the meter last reported; null: none yet. */
  hardwareRevision: string | null;
  /** The meter's last recorded check-in (coarse: see checkInRecordSeconds); null: none recorded. */
  lastCheckInAt: Date | null;
  execution: ExecutionRow | null;
  /** The campaign of a campaign execution, as the check-in gate reads it. */
  campaign: { state: CampaignState; cancelMode: 'graceful' | 'force' | null } | null;
}

/**
 * An execution with the deployment it belongs to (manifest, action type, window). `manifest_id`,
 * `manifest_digest` and `sequence_number` are the execution's own manifest: the one chosen for its
 * meter when the deployment has a fallback, else the deployment's.
 */
export type ExecutionWithDeployment = ExecutionRow & {
  deployment: Pick<
    DeploymentRow,
    | 'fallback_manifest_id'
    | 'manifest_id'
    | 'manifest_digest'
    | 'class_id'
    | 'sequence_number'
    | 'action_type'
    | 'force_at'
    | 'window_starts_at'
    | 'window_ends_at'
  > & { deployment_manifest_id: string };
};

export interface StateChange {
  state: OtaExecutionState;
  attempt?: number;
  failureCode?: string | null;
  countReport?: boolean;
  /** The digest of the receipt that made it SUCCEEDED. */
  receiptSha256?: string;
}

/** Executions: every read names the tenant and the device (a meter sees its own only). */
@Injectable()
export class ExecutionsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /**
   * The device (if projected) and its most recent execution, whatever its state: ONE indexed read
   * (the device's primary key, then executions_latest), so a check-in answered 304 costs no more.
   */
  async checkInView(tenantId: string, deviceId: string): Promise<CheckInView> {
    const { rows } = await sql<
      ExecutionRow & {
        device_state: DeviceState | null;
        reported_manifest_digest: string | null;
        hardware_revision: string | null;
        last_check_in_at: Date | null;
        found: boolean;
        campaign_state: CampaignState | null;
        campaign_cancel_mode: 'graceful' | 'force' | null;
      }
    >`select d.state as device_state, d.reported_manifest_digest, d.hardware_revision, d.last_check_in_at, e.*, e.execution_id is not null as found,
        c.state as campaign_state, c.cancel_mode as campaign_cancel_mode
      from (select 1) as one
      left join devices d on d.tenant_id = ${tenantId} and d.device_id = ${deviceId}
      left join lateral (
        select * from executions
        where tenant_id = ${tenantId} and device_id = ${deviceId}
        order by created_at desc limit 1
      ) e on true
      left join campaigns c on c.campaign_id = e.campaign_id`.execute(this.db);
    const {
      device_state,
      reported_manifest_digest,
      hardware_revision,
      last_check_in_at,
      found,
      campaign_state,
      campaign_cancel_mode,
      ...execution
    } = rows[0]!;
    return {
      deviceState: device_state,
      reportedManifestDigest: reported_manifest_digest,
      hardwareRevision: hardware_revision,
      lastCheckInAt: last_check_in_at,
      execution: found ? execution : null,
      campaign: campaign_state ? { state: campaign_state, cancelMode: campaign_cancel_mode } : null,
    };
  }

  latest(tenantId: string, deviceId: string, executor: Executor = this.db) {
    return executor
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** This meter's execution by id, with its deployment; locked when `forUpdate`. */
  async findOwn(
    tenantId: string,
    deviceId: string,
    executionId: string,
    executor: Executor = this.db,
    forUpdate = false,
  ): Promise<ExecutionWithDeployment | undefined> {
    let query = executor
      .selectFrom('executions as e')
      .innerJoin('deployments as d', 'd.deployment_id', 'e.deployment_id')
      .leftJoin('manifests as m', 'm.manifest_id', 'e.chosen_manifest_id')
      .selectAll('e')
      .select((eb) => [
        eb.fn.coalesce('m.manifest_id', 'd.manifest_id').as('manifest_id'),
        eb.fn.coalesce('m.digest', 'd.manifest_digest').as('manifest_digest'),
        eb.fn.coalesce('m.sequence_number', 'd.sequence_number').as('sequence_number'),
        'd.manifest_id as deployment_manifest_id',
        'd.fallback_manifest_id',
        'd.class_id',
        'd.action_type',
        'd.force_at',
        'd.window_starts_at',
        'd.window_ends_at',
      ])
      .where('e.tenant_id', '=', tenantId)
      .where('e.device_id', '=', deviceId)
      .where('e.execution_id', '=', executionId);
    if (forUpdate) query = query.forUpdate('e');
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    const {
      manifest_id,
      deployment_manifest_id,
      fallback_manifest_id,
      manifest_digest,
      class_id,
      sequence_number,
      action_type,
      force_at,
      window_starts_at,
      window_ends_at,
      ...execution
    } = row;
    return {
      ...execution,
      deployment: {
        manifest_id,
        deployment_manifest_id,
        fallback_manifest_id,
        manifest_digest,
        class_id,
        sequence_number,
        action_type,
        force_at,
        window_starts_at,
        window_ends_at,
      },
    };
  }

  /** The device's unfinished execution, if any, with its deployment. */
  /**
   * A revoked manifest's executions that installed nothing yet (spec §6.1 revoke): CANCELLED, so no
   * meter is directed to it, given it or a URL again; installs under way finish. Row by row, so the
   * campaign counters' trigger counts each; the version moves every ETag.
   */
  async cancelBeforeInstall(trx: Executor, tenantId: string, manifestId: string, now: Date) {
    const { rows } = await sql<ExecutionRow>`
      update executions e set state = 'CANCELLED', version = e.version + 1, updated_at = ${now}
      from deployments d
      where d.deployment_id = e.deployment_id and e.tenant_id = ${tenantId}
        and coalesce(e.chosen_manifest_id, d.manifest_id) = ${manifestId}
        and e.state in (${sql.join([...BEFORE_INSTALL_STATES])})
      returning e.*`.execute(trx);
    return rows;
  }

  async findActive(tenantId: string, deviceId: string, executor: Executor = this.db) {
    const row = await executor
      .selectFrom('executions')
      .select('execution_id')
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', deviceId)
      .where('state', 'in', ACTIVE_STATES)
      .executeTakeFirst();
    return row && this.findOwn(tenantId, deviceId, row.execution_id, executor);
  }

  /** Unfinished executions of these devices (deployment creation refuses them). */
  async activeDevices(trx: Executor, tenantId: string, deviceIds: readonly string[]): Promise<Set<string>> {
    if (deviceIds.length === 0) return new Set();
    const rows = await trx
      .selectFrom('executions')
      .select('device_id')
      .where('tenant_id', '=', tenantId)
      .where('device_id', 'in', deviceIds)
      .where('state', 'in', ACTIVE_STATES)
      .execute();
    return new Set(rows.map((r) => r.device_id));
  }

  async insertQueued(
    trx: Executor,
    rows: readonly { executionId: string; tenantId: string; deploymentId: string; deviceId: string }[],
    now: Date,
  ): Promise<ExecutionRow[]> {
    const out: ExecutionRow[] = [];
    // Batches keep each statement's parameter count well under PostgreSQL's limit.
    for (let i = 0; i < rows.length; i += 1_000) {
      out.push(
        ...(await trx
          .insertInto('executions')
          .values(
            rows.slice(i, i + 1_000).map((r) => ({
              execution_id: r.executionId,
              tenant_id: r.tenantId,
              deployment_id: r.deploymentId,
              device_id: r.deviceId,
              state: 'QUEUED' as const,
              created_at: now,
              updated_at: now,
            })),
          )
          .returningAll()
          .execute()),
      );
    }
    return out;
  }

  /** A state change (and the ETag's version) on a locked execution. */
  changeState(trx: Executor, executionId: string, change: StateChange, now: Date): Promise<ExecutionRow> {
    return trx
      .updateTable('executions')
      .set((eb) => ({
        state: change.state,
        ...(change.attempt !== undefined && { attempt: change.attempt }),
        ...(change.failureCode !== undefined && { failure_code: change.failureCode }),
        ...(change.receiptSha256 !== undefined && { receipt_digest: change.receiptSha256 }),
        ...(change.countReport && { status_count: eb('status_count', '+', 1) }),
        version: eb('version', '+', 1),
        updated_at: now,
      }))
      .where('execution_id', '=', executionId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** A progress report that leaves the state as it is: counted, the ETag unchanged. */
  countReport(trx: Executor, executionId: string, now: Date): Promise<ExecutionRow> {
    return trx
      .updateTable('executions')
      .set((eb) => ({ status_count: eb('status_count', '+', 1), updated_at: now }))
      .where('execution_id', '=', executionId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Records the manifest an execution's meter is directed to (a locked execution). */
  async chooseManifest(trx: Executor, executionId: string, manifestId: string): Promise<void> {
    await trx
      .updateTable('executions')
      .set({ chosen_manifest_id: manifestId })
      .where('execution_id', '=', executionId)
      .execute();
  }

  /** The next per-device directive counter (1 for the first directive a device ever gets). */
  async nextCounter(trx: Executor, tenantId: string, deviceId: string): Promise<number> {
    const row = await trx
      .insertInto('directive_counters')
      .values({ tenant_id: tenantId, device_id: deviceId, counter: 1 })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'device_id']).doUpdateSet({
          counter: sql`directive_counters.counter + 1`,
        }),
      )
      .returning('counter')
      .executeTakeFirstOrThrow();
    return Number(row.counter);
  }

  setDirective(
    trx: Executor,
    executionId: string,
    directive: StoredDirective,
    fields: { counter: number; nonce: string; expiresAt: Date; state: OtaExecutionState },
    now: Date,
  ): Promise<ExecutionRow> {
    return trx
      .updateTable('executions')
      .set((eb) => ({
        directive: JSON.stringify(directive),
        directive_counter: fields.counter,
        directive_nonce: fields.nonce,
        directive_expires_at: fields.expiresAt,
        state: fields.state,
        version: eb('version', '+', 1),
        updated_at: now,
      }))
      .where('execution_id', '=', executionId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Ends every unfinished execution of a device (decommissioned: REMOVED), locked, answering them. */
  async endActive(
    trx: Executor,
    tenantId: string,
    deviceId: string,
    state: OtaExecutionState,
    now: Date,
  ): Promise<ExecutionWithDeployment[]> {
    const active = await this.findActive(tenantId, deviceId, trx);
    if (!active) return [];
    const locked = await this.findOwn(tenantId, deviceId, active.execution_id, trx, true);
    if (!locked || !ACTIVE_STATES.includes(locked.state as never)) return [];
    const changed = await this.changeState(trx, locked.execution_id, { state }, now);
    return [{ ...changed, deployment: locked.deployment }];
  }

  /** The record of a report under (attempt, seq), if one was accepted. */
  findReport(executor: Executor, executionId: string, attempt: number, seq: number) {
    return executor
      .selectFrom('status_reports')
      .selectAll()
      .where('execution_id', '=', executionId)
      .where('attempt', '=', attempt)
      .where('seq', '=', seq)
      .executeTakeFirst();
  }

  /** Inserts the report unless (attempt, seq) is taken; false when it was. */
  async insertReport(
    trx: Executor,
    executionId: string,
    report: OtaStatusReport,
    reportSha256: string,
    now: Date,
  ): Promise<boolean> {
    const inserted = await trx
      .insertInto('status_reports')
      .values({
        execution_id: executionId,
        attempt: report.attempt,
        seq: report.seq,
        state: report.state as OtaExecutionState,
        report_sha256: reportSha256,
        progress_percent: report.progressPercent ?? null,
        failure_code: report.failureCode ?? null,
        defer_until: report.deferUntil ?? null,
        received_at: now,
      })
      .onConflict((oc) => oc.columns(['execution_id', 'attempt', 'seq']).doNothing())
      .returning('seq')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /**
   * The signing time of the URL to answer for (execution, component): now when none was minted within
   * `windowSeconds` (a new URL), else the earlier one's (the same URL again), with the number of
   * requests that URL has answered. One statement, so concurrent requests count exactly.
   */
  async grantDownload(
    executionId: string,
    component: OtaComponentId,
    windowSeconds: number,
    now: Date,
  ): Promise<{ issuedAt: Date; requests: number }> {
    const since = new Date(now.getTime() - windowSeconds * 1000);
    const { rows } = await sql<{ issued_at: Date; requests: number }>`
      insert into download_grants (execution_id, component, issued_at, requests)
      values (${executionId}, ${component}, ${now}, 1)
      on conflict (execution_id, component) do update set
        issued_at = case when download_grants.issued_at <= ${since} then excluded.issued_at
                         else download_grants.issued_at end,
        requests = case when download_grants.issued_at <= ${since} then 1
                        else download_grants.requests + 1 end
      returning issued_at, requests`.execute(this.db);
    return { issuedAt: rows[0]!.issued_at, requests: rows[0]!.requests };
  }
}
