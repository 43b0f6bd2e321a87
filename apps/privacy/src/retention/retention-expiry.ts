import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import type { DataKeyRow, Executor } from '../core/database';
import { countErasure } from '../core/erasure-metrics';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { keyDestroyedEvent } from '../data-keys/key-destroyed.event';
import { loadCertificateKey, signDocument } from '../erasures/erasure-certificate';
import { BackupResiduals } from '../key-epochs/backup-residuals';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { type RetentionCertificate, retentionCertificateDigest } from './retention-certificate';

export const RETENTION_ACTOR = 'privacy:retention-expiry';
/** Keys one transaction destroys: a batch, certified per tenant. */
export const RETENTION_BATCH = 100;

/**
 * Retention keys (kept past an erasure under Art. 17(3)(b) and the like) are destroyed at their
 * retain_until, without anyone asking. Each batch is one transaction over rows locked SKIP LOCKED, so
 * replicas running the job at once take disjoint batches; per tenant, every destruction is announced
 * and audited, and the batch gets a certificate signed by the erasure certificate key, stored and
 * audited. Runs every PRIVACY_RETENTION_CHECK_INTERVAL_S; `destroyDue` also runs on demand.
 */
@Injectable()
export class RetentionExpiry implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly certificateKey: KeyObject | undefined;

  constructor(
    private readonly keys: DataKeysRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly residuals: BackupResiduals,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const path = config.PRIVACY_CERTIFICATE_KEY_FILE;
    this.certificateKey = path === undefined ? undefined : loadCertificateKey(path);
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.PRIVACY_RETENTION_CHECK_INTERVAL_S;
    if (seconds === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.destroyDue()
        .catch((error: unknown) => this.logger.error({ err: error }, 'retention expiry failed'))
        .finally(() => (this.running = undefined));
    }, seconds * 1_000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Destroys every retention key whose date has come by `now`; returns their ids. */
  async destroyDue(now = new Date()): Promise<string[]> {
    const destroyed: string[] = [];
    for (;;) {
      const batch = await this.transactions.run(async (trx) => {
        const due = await this.keys.lockRetentionKeysDue(trx, now, RETENTION_BATCH);
        const byTenant = new Map<string, DataKeyRow[]>();
        for (const key of due) byTenant.set(key.tenant_id, [...(byTenant.get(key.tenant_id) ?? []), key]);
        for (const [tenantId, keys] of byTenant) await this.destroyBatch(trx, tenantId, keys, now);
        return due.map((key) => key.key_id);
      });
      if (batch.length === 0) return destroyed;
      destroyed.push(...batch);
    }
  }

  private async destroyBatch(trx: Executor, tenantId: string, due: DataKeyRow[], now: Date): Promise<void> {
    const gone = [];
    for (const key of due) gone.push(await this.keys.destroy(trx, key.key_id, now));
    await this.outbox.enqueue(
      trx,
      PRIVACY_OCCUPANCIES,
      gone.map((key) => keyDestroyedEvent(key, now)),
    );
    const records = await this.audit.append(
      trx,
      tenantId,
      gone.map((key) => ({
        action: 'privacy.data-key-destroyed',
        actor: RETENTION_ACTOR,
        subject: key.key_id,
        outcome: 'allowed' as const,
        detail: {
          meterId: key.meter_id,
          ...(key.occupancy_id !== null && { occupancyId: key.occupancy_id }),
          purpose: key.purpose ?? '',
          retainUntil: key.retain_until?.toISOString() ?? '',
        },
      })),
      now,
    );
    const epochs = [...new Set(gone.map((key) => key.kek_epoch))].sort((a, b) => a - b);
    const unsigned: RetentionCertificate = {
      certificateVersion: 1,
      kind: 'retention-expiry',
      certificateId: `rc_${randomUUID()}`,
      tenantId,
      issuedAt: now.toISOString(),
      method: 'cryptographic erase of retention keys at their retain-until (NIST SP 800-88 purge)',
      keysDestroyed: gone.map((key) => ({
        keyId: key.key_id,
        kind: 'retention',
        occupancyId: key.occupancy_id,
        meterId: key.meter_id,
        purpose: key.purpose ?? '',
        retainUntil: key.retain_until?.toISOString() ?? '',
        destroyedAt: key.destroyed_at!.toISOString(),
        wrappedKeyCommitment: key.wrapped_key_sha256
          ? `sha256:${key.wrapped_key_sha256.toString('hex')}`
          : 'sha256:unknown',
        kekEpoch: key.kek_epoch,
      })),
      residualCopies: [
        ...(await Promise.all(epochs.map((epoch) => this.residuals.forEpoch(epoch)))),
        {
          where: 'telemetry-ingest key cache (a replica that missed the key-destroyed event)',
          what: 'plain data key',
          maxLifetimeSeconds: this.config.PRIVACY_INGEST_KEY_CACHE_TTL_S,
        },
      ],
      audit: { sequences: records.map((r) => r.sequence), records },
    };
    // Keys are destroyed on their date whatever happens; without the key the batch stays unsigned.
    if (!this.certificateKey)
      this.logger.warn(
        { tenantId },
        'PRIVACY_CERTIFICATE_KEY_FILE is not set: retention batch certificate unsigned',
      );
    const certificate = this.certificateKey ? signDocument(unsigned, this.certificateKey) : unsigned;
    const digest = retentionCertificateDigest(certificate);
    await trx
      .insertInto('retention_certificates')
      .values({
        certificate_id: certificate.certificateId,
        tenant_id: tenantId,
        document: JSON.stringify(certificate),
        digest,
        issued_at: now,
      })
      .execute();
    await this.audit.append(
      trx,
      tenantId,
      [
        {
          action: 'privacy.retention-expiry-certified',
          actor: RETENTION_ACTOR,
          subject: certificate.certificateId,
          outcome: 'allowed',
          detail: {
            digest,
            keys: gone.length,
            certificateKeyId: certificate.signature?.keyId ?? 'unsigned',
          },
        },
      ],
      now,
    );
    countErasure('retention-expiry', gone.length);
  }
}
