import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '@meterkeep/audit';
import type { AuditLog } from '../audit/audit-log';
import type { Executor, OccupancyRow } from '../core/database';
import type { OutboxRepository } from '../outbox/outbox.repository';
import type { RecallReleases } from '../release/recall-releases';
import type { ReleaseRepository } from '../release/release.repository';
import type { NewResealJob, ResealJobsRepository } from '../reseal/reseal-jobs.repository';
import { MAX_INGEST_KEY_CACHE_MS } from '../reseal/reseal-readings.use-case';
import type { OccupanciesRepository } from './occupancies.repository';
import { OccupancyCloser } from './occupancy-closer';

const NOW = new Date('2026-06-01T00:00:00Z');
const trx = {} as Executor;

/** The closer over fakes recording, in order, what each collaborator was asked. */
function closer() {
  const calls: string[] = [];
  const jobs: NewResealJob[] = [];
  const audited: AuditEntry[] = [];
  const occupancies = {
    close: (_t: Executor, occupancyId: string, to: Date) => {
      calls.push('close');
      return Promise.resolve({
        occupancy_id: occupancyId,
        tenant_id: 'tenant-a',
        meter_id: 'MTR-1',
        key_id: 'dk-1',
        subject_ref: 'subj-1',
        valid_from: new Date('2026-01-01T00:00:00Z'),
        valid_to: to,
      } as OccupancyRow);
    },
  } as unknown as OccupanciesRepository;
  const outbox = {
    enqueue: () => (calls.push('announce'), Promise.resolve()),
  } as unknown as OutboxRepository;
  const audit = {
    append: (_t: Executor, _tenant: string, entries: AuditEntry[]) => {
      calls.push('audit');
      audited.push(...entries);
      return Promise.resolve([]);
    },
  } as unknown as AuditLog;
  const reseals = {
    enqueue: (_t: Executor, job: NewResealJob) => (
      calls.push('reseal'),
      jobs.push(job),
      Promise.resolve('rsj')
    ),
  } as unknown as ResealJobsRepository;
  const release = {
    markDue: () => (calls.push('markDue'), Promise.resolve()),
    deleteStagedFrom: () => (calls.push('unstage'), Promise.resolve(24)),
  } as unknown as ReleaseRepository;
  const recalls = {
    afterBackdatedClose: () => (calls.push('recall'), Promise.resolve(3)),
  } as unknown as RecallReleases;
  return {
    closer: new OccupancyCloser(occupancies, outbox, audit, reseals, release, recalls),
    calls,
    jobs,
    audited,
  };
}

describe('OccupancyCloser', () => {
  it('back-dated: recalls before it unstages, and queues a re-seal job due now', async () => {
    const c = closer();
    const to = new Date(NOW.getTime() - 86_400_000);
    await c.closer.close(trx, 'occ-1', to, { actor: 'privacy:decommission', now: NOW, detail: { x: 1 } });
    expect(c.calls).toEqual(['close', 'markDue', 'announce', 'recall', 'unstage', 'reseal', 'audit']);
    expect(c.jobs).toEqual([
      {
        tenantId: 'tenant-a',
        meterId: 'MTR-1',
        occupancyId: 'occ-1',
        reason: 'backdated-close',
        from: to,
        notBefore: NOW,
      },
    ]);
    expect(c.audited).toEqual([
      expect.objectContaining({
        action: 'privacy.occupancy-closed',
        actor: 'privacy:decommission',
        detail: {
          meterId: 'MTR-1',
          keyId: 'dk-1',
          x: 1,
          backdated: true,
          unstagedReadings: 24,
          recalledReleases: 3,
        },
      }),
    ]);
  });

  it('in the future: nothing recalled or unstaged; the re-seal job waits out the ingest key caches', async () => {
    const c = closer();
    const to = new Date(NOW.getTime() + 86_400_000);
    await c.closer.close(trx, 'occ-1', to, { actor: 'op', now: NOW });
    expect(c.calls).toEqual(['close', 'markDue', 'announce', 'reseal', 'audit']);
    expect(c.jobs).toMatchObject([
      { reason: 'future-close', from: to, notBefore: new Date(NOW.getTime() + MAX_INGEST_KEY_CACHE_MS) },
    ]);
    expect(c.audited[0]!.detail).toEqual({ meterId: 'MTR-1', keyId: 'dk-1' });
  });
});
