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
import type { DataKeyRow, Executor, ReleaseKeyRow } from '../core/database';
import { countErasure } from '../core/erasure-metrics';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { keyDestroyedEvent } from '../data-keys/key-destroyed.event';
import { loadCertificateKey, signDocument } from '../erasures/erasure-certificate';
import { BackupResiduals } from '../key-epochs/backup-residuals';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ReleaseKeyShredder } from '../release/release-key-shredder';
import { ReleaseRepository } from '../release/release.repository';
import { type RetentionCertificate, retentionCertificateDigest } from './retention-certificate';
import { READINGS_RETENTION_PURPOSE, RetentionSchedulesRepository } from './retention-schedules.repository';

export const RETENTION_ACTOR = 'privacy:retention-expiry';
/** Keys one transaction destroys: a batch, certified per tenant. */
export const RETENTION_BATCH = 100;

/** One key a batch destroyed, as its certificate lists it. */
interface Expired {
  kind: 'retention' | 'readings' | 'release';
  key: DataKeyRow | ReleaseKeyRow;
  meterId: string;
  occupancyId: string | null;
  purpose: string;
  retainUntil: Date;
}

/**
 * Retention keys (kept past an erasure under Art. 17(3)(b) and the like) are destroyed at their
 * retain_until, and an occupancy's readings key (with the release keys of what the gate let out of it,
 * and its staged readings) once the tenant's readings retention after its end has run out, without
 * anyone asking. Each batch is one transaction over rows locked SKIP LOCKED, so
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
    private readonly schedules: RetentionSchedulesRepository,
    private readonly shredder: ReleaseKeyShredder,
    private readonly release: ReleaseRepository,
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

  /** Destroys every key whose retention has run out by `now`; returns their ids. */
  async destroyDue(now = new Date()): Promise<string[]> {
    const destroyed: string[] = [];
    for (;;) {
      const batch = await this.transactions.run(async (trx) => {
        const due = await this.keys.lockRetentionKeysDue(trx, now, RETENTION_BATCH);
        await this.certifyPerTenant(
          trx,
          due.map((key) => ({
            kind: 'retention' as const,
            key: key,
            meterId: key.meter_id,
            occupancyId: key.occupancy_id,
            purpose: key.purpose ?? '',
            retainUntil: key.retain_until ?? now,
          })),
          now,
        );
        return due.map((key) => key.key_id);
      });
      if (batch.length === 0) break;
      destroyed.push(...batch);
    }
    for (;;) {
      const batch = await this.transactions.run(async (trx) => {
        const due = await this.schedules.lockReadingsPastRetention(trx, now, RETENTION_BATCH);
        const expired: Expired[] = [];
        for (const occupancy of due) {
          const of = {
            meterId: occupancy.meter_id,
            occupancyId: occupancy.occupancy_id,
            retainUntil: new Date(occupancy.retain_until),
          };
          for (const key of await this.shredder.destroy(trx, occupancy.occupancy_id, now))
            expired.push({ kind: 'release', key, purpose: key.purpose, ...of });
          await this.release.deleteStagedReadings(trx, [occupancy.occupancy_id]);
          const key = await this.keys.lock(trx, occupancy.tenant_id, occupancy.key_id);
          if (key?.destroyed_at === null)
            expired.push({
              kind: 'readings',
              key: await this.keys.destroy(trx, key.key_id, now),
              purpose: READINGS_RETENTION_PURPOSE,
              ...of,
            });
        }
        await this.certifyPerTenant(trx, expired, now);
        return expired.filter((e) => e.kind !== 'release').map((e) => e.key.key_id);
      });
      if (batch.length === 0) return destroyed;
      destroyed.push(...batch);
    }
  }

  private async certifyPerTenant(trx: Executor, expired: Expired[], now: Date): Promise<void> {
    const byTenant = new Map<string, Expired[]>();
    for (const e of expired) byTenant.set(e.key.tenant_id, [...(byTenant.get(e.key.tenant_id) ?? []), e]);
    for (const [tenantId, batch] of byTenant) await this.destroyBatch(trx, tenantId, batch, now);
  }

  /**
   * Destroys the batch's retention keys (the others the caller destroyed already), announces the data
   * keys gone, audits each and certifies the batch.
   */
  private async destroyBatch(trx: Executor, tenantId: string, batch: Expired[], now: Date): Promise<void> {
    const gone: Expired[] = [];
    for (const e of batch)
      gone.push(e.kind === 'retention' ? { ...e, key: await this.keys.destroy(trx, e.key.key_id, now) } : e);
    const dataKeys = gone.filter((e) => e.kind !== 'release').map((e) => e.key as DataKeyRow);
    await this.outbox.enqueue(
      trx,
      PRIVACY_OCCUPANCIES,
      dataKeys.map((key) => keyDestroyedEvent(key, now)),
    );
    const records = await this.audit.append(
      trx,
      tenantId,
      gone.map((e) => ({
        action: e.kind === 'release' ? 'privacy.release-key-destroyed' : 'privacy.data-key-destroyed',
        actor: RETENTION_ACTOR,
        subject: e.key.key_id,
        outcome: 'allowed' as const,
        detail: {
          meterId: e.meterId,
          ...(e.occupancyId !== null && { occupancyId: e.occupancyId }),
          ...(e.kind === 'release' && { recipient: (e.key as ReleaseKeyRow).recipient }),
          purpose: e.purpose,
          retainUntil: e.retainUntil.toISOString(),
        },
      })),
      now,
    );
    const epochs = [...new Set(gone.map((e) => e.key.kek_epoch))].sort((a, b) => a - b);
    const unsigned: RetentionCertificate = {
      certificateVersion: 1,
      kind: 'retention-expiry',
      certificateId: `rc_${randomUUID()}`,
      tenantId,
      issuedAt: now.toISOString(),
      method: 'cryptographic erase of keys at the end of their retention (NIST SP 800-88 purge)',
      keysDestroyed: gone.map((e) => ({
        keyId: e.key.key_id,
        kind: e.kind,
        occupancyId: e.occupancyId,
        meterId: e.meterId,
        purpose: e.purpose,
        retainUntil: e.retainUntil.toISOString(),
        destroyedAt: e.key.destroyed_at!.toISOString(),
        wrappedKeyCommitment: e.key.wrapped_key_sha256
          ? `sha256:${e.key.wrapped_key_sha256.toString('hex')}`
          : 'sha256:unknown',
        kekEpoch: e.key.kek_epoch,
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
    countErasure('retention-expiry', dataKeys.length);
    countErasure('release-key', gone.length - dataKeys.length);
  }
}
