import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AuditChainRepository } from '@meterkeep/audit';
import {
  ENROLLMENT_DECOMMISSION_REQUESTS,
  type EnrollmentDecommissionRequestEvent,
} from '@meterkeep/contracts';
import { documentDigest, keyIdOf, loadSigningKey, signDocument } from '@meterkeep/firmware';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { EnrollmentConfig } from '../config';
import type { DeviceRow, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { decommissionRecord, missingSteps, retryDelayMs } from './decommission-record';
import { DecommissionsRepository } from './decommissions.repository';

export const DECOMMISSION_ACTOR = 'enrollment:decommission-saga';

function requestEvent(
  tenantId: string,
  decommissionId: string,
  deviceId: string,
  attempt: number,
  decommissionedAt: Date,
): EnrollmentDecommissionRequestEvent {
  return {
    eventId: randomUUID(),
    tenantId,
    occurredAt: new Date().toISOString(),
    decommissionId,
    attempt,
    deviceId,
    decommissionedAt: decommissionedAt.toISOString(),
  };
}

/**
 * Runs decommissioning sagas. The registry's own step (DECOMMISSIONED, PSK destroyed) commits with the
 * saga's start; then bootstrap, ota-distributor and privacy are asked for theirs on
 * enrollment.decommission-requests.v1 and confirm on enrollment.decommission-confirmations.v1. A step
 * not confirmed done (missing, pending or failed) is asked for again with backoff, never assumed; once
 * all are done the signed decommission record is stored and its digest appended to the tenant's audit
 * chain, in one transaction (the saga row locked, skipped by another replica).
 */
@Injectable()
export class DecommissionSaga implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopping = false;
  private signingKey: KeyObject | undefined;

  constructor(
    private readonly decommissions: DecommissionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly heads: AuditChainRepository,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: EnrollmentConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const path = this.config.ENROLLMENT_DECOMMISSION_KEY_FILE;
    if (path !== undefined) this.signingKey = loadSigningKey(path);
    else this.logger.warn('ENROLLMENT_DECOMMISSION_KEY_FILE is not set: decommissions cannot be recorded');
    const every = Math.max(100, Math.floor(this.config.ENROLLMENT_DECOMMISSION_RETRY_MS / 2));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** The signing key's id, or undefined when none is configured. */
  get keyId(): string | undefined {
    return this.signingKey ? keyIdOf(this.signingKey) : undefined;
  }

  /** Starts the saga in the caller's transaction (the registry's step): the first request goes out with it. */
  async start(trx: Executor, device: DeviceRow, actor: string, now: Date): Promise<string> {
    const decommissionId = `dc-${randomUUID()}`;
    await this.decommissions.insert(trx, {
      decommission_id: decommissionId,
      tenant_id: device.tenant_id,
      endpoint_name: device.endpoint_name,
      requested_by: actor,
      requested_at: now,
      credential_kind: device.credential_kind,
      next_attempt_at: new Date(now.getTime() + this.config.ENROLLMENT_DECOMMISSION_RETRY_MS),
    });
    await this.outbox.enqueue(trx, ENROLLMENT_DECOMMISSION_REQUESTS, [
      requestEvent(device.tenant_id, decommissionId, device.endpoint_name, 1, now),
    ]);
    return decommissionId;
  }

  /** Advances every saga that is due (asks again for missing steps; resumes after a restart). */
  async tick(): Promise<void> {
    if (this.stopping) return;
    try {
      for (const id of await this.decommissions.due(new Date())) void this.kick(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'decommission saga: could not list due sagas');
    }
  }

  /** Runs the saga as far as it goes now; a kick while it runs makes it look again once done. */
  kick(decommissionId: string): Promise<void> {
    const current = this.running.get(decommissionId);
    if (current) {
      this.again.add(decommissionId);
      return current;
    }
    const run = (async () => {
      do {
        this.again.delete(decommissionId);
        try {
          await this.step(decommissionId);
        } catch (error) {
          this.logger.error({ err: error, decommissionId }, 'decommission saga step failed; retried');
        }
      } while (this.again.has(decommissionId) && !this.stopping);
    })().finally(() => this.running.delete(decommissionId));
    this.running.set(decommissionId, run);
    return run;
  }

  private async step(decommissionId: string): Promise<void> {
    await this.transactions.run(async (trx) => {
      const saga = await this.decommissions.lock(trx, decommissionId);
      if (!saga || saga.state !== 'CONFIRMING') return;
      const now = new Date();
      const confirmations = await this.decommissions.confirmations(trx, decommissionId);
      const missing = missingSteps(confirmations);
      if (missing.length > 0) {
        if (saga.next_attempt_at.getTime() > now.getTime()) return;
        // Asked again, never assumed: every service repeats its step idempotently.
        const attempt = saga.attempt + 1;
        await this.outbox.enqueue(trx, ENROLLMENT_DECOMMISSION_REQUESTS, [
          requestEvent(saga.tenant_id, decommissionId, saga.endpoint_name, attempt, saga.requested_at),
        ]);
        await this.decommissions.update(trx, decommissionId, {
          attempt,
          next_attempt_at: new Date(
            now.getTime() + retryDelayMs(this.config.ENROLLMENT_DECOMMISSION_RETRY_MS, attempt),
          ),
        });
        this.logger.info(
          { decommissionId, deviceId: saga.endpoint_name, missing, attempt },
          'decommission saga: steps missing, asked again',
        );
        return;
      }
      if (!this.signingKey) {
        await this.decommissions.update(trx, decommissionId, {
          next_attempt_at: new Date(now.getTime() + 60_000),
        });
        this.logger.error(
          { decommissionId },
          'DECOMMISSION_KEY_MISSING: every step confirmed, ENROLLMENT_DECOMMISSION_KEY_FILE is not set',
        );
        return;
      }
      const chainHeadBefore = await this.heads.lockHead(trx, saga.tenant_id);
      const record = signDocument(
        decommissionRecord({
          decommissionId,
          tenantId: saga.tenant_id,
          deviceId: saga.endpoint_name,
          requestedBy: saga.requested_by,
          requestedAt: saga.requested_at,
          credentialKind: saga.credential_kind,
          attempts: saga.attempt,
          confirmations,
          chainHeadBefore,
          now,
        }),
        this.signingKey,
      );
      const digest = documentDigest(record);
      const [appended] = await this.audit.append(
        trx,
        saga.tenant_id,
        [
          {
            action: 'device.decommission-recorded',
            actor: DECOMMISSION_ACTOR,
            subject: saga.endpoint_name,
            outcome: 'allowed',
            detail: {
              decommissionId,
              recordDigest: digest,
              signingKeyId: record.signature.keyId,
              attempts: saga.attempt,
            },
          },
        ],
        now,
      );
      await this.decommissions.update(trx, decommissionId, {
        state: 'RECORDED',
        record: JSON.stringify(record),
        record_digest: digest,
        audit_sequence: appended!.sequence,
        recorded_at: now,
      });
      this.logger.info({ decommissionId, deviceId: saga.endpoint_name, digest }, 'decommission recorded');
    });
  }
}
