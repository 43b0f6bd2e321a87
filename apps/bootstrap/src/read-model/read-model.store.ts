import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EnrollmentDeviceEvent, EnrollmentTrustAnchorEvent } from '@meterkeep/contracts';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import type { Logger } from '@meterkeep/observability';
import { parseCertificate } from '@meterkeep/pki';
import { LOGGER, DomainError } from '@meterkeep/service-runtime';
import { ReadModelKeys as Keys, splitMember } from './read-model.keys';
import { type AnchorRecord, type DeviceRecord, deviceRecordOf } from './read-model.records';

/**
 * Writes one record only if it is newer (by offset: a key always lands in the same partition) than
 * the one stored, adds it to its index sets, and records the offset as handled, in one step.
 * KEYS: record, progress, index sets…; ARGV: offset, value, progress field, one member per index set.
 */
const PUT_RECORD = `
local offset = tonumber(ARGV[1])
local stored = redis.call('HGET', KEYS[1], 'offset')
local applied = 0
if (not stored) or tonumber(stored) < offset then
  redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'value', ARGV[2])
  for i = 3, #KEYS do redis.call('SADD', KEYS[i], ARGV[i + 1]) end
  applied = 1
end
local done = redis.call('HGET', KEYS[2], ARGV[3])
if (not done) or tonumber(done) < offset then redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end
return applied
`;
const PUT_RECORD_SHA = createHash('sha1').update(PUT_RECORD).digest('hex');

export interface RecordPosition {
  generation: string;
  topic: string;
  partition: number;
  offset: string;
}

/** Redis is down or timed out: the meter retries; nothing is refused for good. */
export function cacheUnavailable(): DomainError {
  return new DomainError('unavailable', 'UNAVAILABLE', 'Temporarily unavailable; retry later', undefined, 5);
}

/**
 * The bootstrap read model in Redis: devices and trust anchors as the compacted enrollment topics
 * last said, with the indexes bootstrap looks them up by. A cache: rebuilt from Kafka when lost.
 */
@Injectable()
export class ReadModelStore {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  // ---- the consumer's side ---------------------------------------------------------------------

  putDevice(event: EnrollmentDeviceEvent, at: RecordPosition): Promise<boolean> {
    const record = deviceRecordOf(event);
    const indexes: [string, string][] = [[Keys.byEndpoint(record.endpointName), record.tenantId]];
    if (record.credential.kind === 'psk')
      indexes.push([
        Keys.byPskIdentity(record.credential.pskIdentity),
        `${record.tenantId}/${record.endpointName}`,
      ]);
    return this.put(Keys.device(record.tenantId, record.endpointName), record, indexes, at);
  }

  putAnchor(event: EnrollmentTrustAnchorEvent, at: RecordPosition): Promise<boolean> {
    const member = `${event.tenantId}/${event.caId}`;
    const keyId = subjectKeyIdOf(event.certificatePem);
    const record: AnchorRecord = {
      tenantId: event.tenantId,
      caId: event.caId,
      status: event.status,
      fingerprintSha256: event.fingerprintSha256,
      ...(keyId !== undefined && { keyId }),
      certificatePem: event.certificatePem,
      occurredAt: event.occurredAt,
    };
    const indexes: [string, string][] = [[Keys.anchorsByFingerprint(record.fingerprintSha256), member]];
    if (keyId !== undefined) indexes.push([Keys.anchorsByKeyId(keyId), member]);
    return this.put(Keys.anchor(record.tenantId, record.caId), record, indexes, at);
  }

  private async put(
    key: string,
    record: DeviceRecord | AnchorRecord,
    indexes: [string, string][],
    at: RecordPosition,
  ): Promise<boolean> {
    const keys = [key, Keys.progress(at.generation), ...indexes.map(([index]) => index)];
    const args = [
      at.offset,
      JSON.stringify(record),
      `${at.topic}:${at.partition}`,
      ...indexes.map(([, m]) => m),
    ];
    let applied: unknown;
    try {
      applied = await this.redis.evalsha(PUT_RECORD_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      applied = await this.redis.eval(PUT_RECORD, keys.length, ...keys, ...args);
    }
    return applied === 1;
  }

  /**
   * A record of the topics that is not of the contract (dead-lettered): nothing to store, but the
   * generation has read past it, or a foreign record last in a partition would hold catch-up forever.
   */
  async passed(at: RecordPosition): Promise<void> {
    await this.redis.eval(
      "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1') " +
        "if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
      1,
      Keys.progress(at.generation),
      `${at.topic}:${at.partition}`,
      at.offset,
    );
  }

  // ---- generations and catch-up ------------------------------------------------------------------

  /** The generation feeding the read model; a new one when there is none (first start, or a flush). */
  async currentGeneration(candidate: string): Promise<string> {
    const existing = await this.redis.get(Keys.generation);
    if (existing) return existing;
    await this.redis.set(Keys.generation, candidate, 'NX');
    return (await this.redis.get(Keys.generation)) ?? candidate;
  }

  epoch(): Promise<string | null> {
    return this.redis.get(Keys.epoch);
  }

  async markCaughtUp(generation: string): Promise<void> {
    // Only if that generation still feeds the read model: a flush meanwhile starts another.
    const current = await this.redis.get(Keys.generation);
    if (current === generation) await this.redis.set(Keys.epoch, generation);
  }

  /** True when every target offset (`topic:partition` → last offset to handle) has been handled. */
  async reached(generation: string, targets: ReadonlyMap<string, number>): Promise<boolean> {
    if (targets.size === 0) return true;
    const progress = await this.redis.hgetall(Keys.progress(generation));
    for (const [field, target] of targets) if (Number(progress[field] ?? -1) < target) return false;
    return true;
  }

  // ---- lookups -------------------------------------------------------------------------------------

  /** Every tenant's record of this endpoint name (stale ones too: lapsed claims, earlier tenants). */
  async devicesByEndpoint(endpointName: string): Promise<DeviceRecord[]> {
    return this.guard(async () => {
      const tenants = await this.redis.smembers(Keys.byEndpoint(endpointName));
      const records = await this.values<DeviceRecord>(
        tenants.map((tenant) => Keys.device(tenant, endpointName)),
      );
      return records.filter((r) => r.endpointName === endpointName);
    });
  }

  /** The records that name this PSK identity now (an identity may have moved; stale entries are dropped). */
  async devicesByPskIdentity(pskIdentity: string): Promise<DeviceRecord[]> {
    return this.guard(async () => {
      const members = await this.redis.smembers(Keys.byPskIdentity(pskIdentity));
      const keys = members.flatMap((member) => {
        const parts = splitMember(member);
        return parts ? [Keys.device(parts[0], parts[1])] : [];
      });
      const records = await this.values<DeviceRecord>(keys);
      return records.filter((r) => r.credential.kind === 'psk' && r.credential.pskIdentity === pskIdentity);
    });
  }

  /** The anchors (of any tenant) that are one of these certificates or hold one of these keys. */
  async anchorsMatching(fingerprints: readonly string[], keyIds: readonly string[]): Promise<AnchorRecord[]> {
    if (fingerprints.length === 0 && keyIds.length === 0) return [];
    return this.guard(async () => {
      const members = await this.redis.sunion(
        ...fingerprints.map((fp) => Keys.anchorsByFingerprint(fp)),
        ...keyIds.map((id) => Keys.anchorsByKeyId(id)),
      );
      const keys = members.flatMap((member) => {
        const parts = splitMember(member);
        return parts ? [Keys.anchor(parts[0], parts[1])] : [];
      });
      const records = await this.values<AnchorRecord>(keys);
      return records.filter(
        (r) =>
          fingerprints.includes(r.fingerprintSha256) || (r.keyId !== undefined && keyIds.includes(r.keyId)),
      );
    });
  }

  private async values<T>(keys: readonly string[]): Promise<T[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hget(key, 'value');
    const results = (await pipeline.exec()) ?? [];
    const values: T[] = [];
    for (const [error, value] of results) {
      if (error) throw error;
      if (typeof value === 'string') values.push(JSON.parse(value) as T);
    }
    return values;
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.warn({ err: error }, 'read model: redis lookup failed');
      throw cacheUnavailable();
    }
  }
}

function subjectKeyIdOf(pem: string): string | undefined {
  try {
    return parseCertificate(pem).extensions.subjectKeyIdentifier?.toString('hex');
  } catch {
    // Enrollment checked the certificate; one it could not parse here is found by fingerprint only.
    return undefined;
  }
}
