import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { TelemetryBatchAnswer } from '@meterkeep/contracts';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import { CONFIG, DomainError } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { IngestErrors } from './ingest.errors';

/**
 * Claims a meter for one batch: answers a replayed batch with its first answer; else takes the
 * meter's write lock (a lock left by an earlier boot of this same replica is taken over: that boot's
 * open transaction was aborted when this one started), refuses the batch's OBIS codes that are new to
 * the meter past its limit, and lists the items already received.
 * KEYS: batch answer, lock, the meter's OBIS set, one seen-set per day. ARGV: lock value, lock TTL ms,
 * this replica's lock prefix, OBIS limit, OBIS count, OBIS codes (distinct), then per day: member
 * count, members. Answers {0, refused OBIS count, refused codes…, items seen…}.
 */
const CLAIM = `
local answer = redis.call('GET', KEYS[1])
if answer then return {1, answer} end
local holder = redis.call('GET', KEYS[2])
if holder and (string.sub(holder, 1, #ARGV[3]) ~= ARGV[3] or string.sub(holder, #ARGV[3] + 1, #ARGV[3] + 36) == string.sub(ARGV[1], #ARGV[3] + 1, #ARGV[3] + 36)) then
  return {2}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local refused = {}
local codes = tonumber(ARGV[5])
if codes > 0 then
  local room = tonumber(ARGV[4]) - redis.call('SCARD', KEYS[3])
  local known = redis.call('SMISMEMBER', KEYS[3], unpack(ARGV, 6, 5 + codes))
  for j = 1, codes do
    if known[j] == 0 then
      if room > 0 then room = room - 1 else refused[#refused + 1] = ARGV[5 + j] end
    end
  end
end
local out = {0, #refused}
for j = 1, #refused do out[#out + 1] = refused[j] end
local a = 6 + codes
for k = 4, #KEYS do
  local n = tonumber(ARGV[a])
  if n > 0 then
    local flags = redis.call('SMISMEMBER', KEYS[k], unpack(ARGV, a + 1, a + n))
    for j = 1, n do if flags[j] == 1 then out[#out + 1] = ARGV[a + j] end end
  end
  a = a + n + 1
end
return out
`;

/**
 * Records a written batch: its OBIS codes join the meter's set and its items the day sets, its answer
 * is kept for replays, the lock goes. KEYS as CLAIM. ARGV: lock value, answer, window ms, OBIS count,
 * OBIS codes, then per day: member count, members.
 */
const COMMIT = `
local codes = tonumber(ARGV[4])
if codes > 0 then
  redis.call('SADD', KEYS[3], unpack(ARGV, 5, 4 + codes))
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
local a = 5 + codes
for k = 4, #KEYS do
  local n = tonumber(ARGV[a])
  if n > 0 then
    redis.call('SADD', KEYS[k], unpack(ARGV, a + 1, a + n))
    redis.call('PEXPIRE', KEYS[k], ARGV[3])
  end
  a = a + n + 1
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

const sha = (script: string) => createHash('sha1').update(script).digest('hex');
const SCRIPTS = {
  claim: [CLAIM, sha(CLAIM)],
  commit: [COMMIT, sha(COMMIT)],
  release: [RELEASE, sha(RELEASE)],
} as const;

/** The item identities of one batch, grouped by UTC day of their time. */
export type ItemsByDay = Map<string, string[]>;

export type Claim =
  | { kind: 'replay'; answer: TelemetryBatchAnswer }
  | {
      kind: 'claimed';
      lock: string;
      alreadySeen: Set<string>;
      /** OBIS codes of the batch new to the meter past TELEMETRY_MAX_OBIS_PER_METER: refused. */
      refusedObis: Set<string>;
    };

/** The UTC day of an epoch-ms instant, as days since 1970-01-01. */
export function dayOf(at: number): string {
  return String(Math.floor(at / 86_400_000));
}

/**
 * De-duplication in Redis, per meter (all of a meter's keys share a hash tag, so one script touches
 * one slot): a batch's answer for replays, the identities of items received per day, and a write
 * lock per meter, so two copies of a batch cannot both be written. Redis down → 503, never a guess.
 * What a meter can make it hold is bounded: at most TELEMETRY_MAX_OBIS_PER_METER distinct OBIS codes
 * within the window (the items per day per code are bounded by the intervals of a day).
 */
@Injectable()
export class DedupeStore {
  /** Identifies this boot of this replica in lock values. */
  private readonly boot = randomUUID();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
  ) {}

  /** `obisCodes`: the distinct OBIS codes of the batch's readings. */
  async claim(
    tenantId: string,
    meterId: string,
    batchId: string,
    items: ItemsByDay,
    obisCodes: readonly string[],
  ): Promise<Claim> {
    const prefix = `${this.config.TELEMETRY_INSTANCE_ID}|`;
    const lock = `${prefix}${this.boot}|${randomUUID()}`;
    const [keys, members] = this.layout(tenantId, meterId, batchId, items);
    const result = (await this.run('claim', keys, [
      lock,
      String(this.config.TELEMETRY_LOCK_TTL_MS),
      prefix,
      String(this.config.TELEMETRY_MAX_OBIS_PER_METER),
      String(obisCodes.length),
      ...obisCodes,
      ...members,
    ])) as [number, ...(string | number)[]];
    if (result[0] === 1)
      return { kind: 'replay', answer: JSON.parse(result[1] as string) as TelemetryBatchAnswer };
    if (result[0] === 2) throw IngestErrors.meterBusy();
    const refused = Number(result[1]);
    return {
      kind: 'claimed',
      lock,
      refusedObis: new Set(result.slice(2, 2 + refused) as string[]),
      alreadySeen: new Set(result.slice(2 + refused) as string[]),
    };
  }

  async commit(
    tenantId: string,
    meterId: string,
    batchId: string,
    items: ItemsByDay,
    obisCodes: readonly string[],
    lock: string,
    answer: TelemetryBatchAnswer,
  ): Promise<void> {
    const [keys, members] = this.layout(tenantId, meterId, batchId, items);
    await this.run('commit', keys, [
      lock,
      JSON.stringify(answer),
      String(this.config.TELEMETRY_DEDUPE_WINDOW_MS),
      String(obisCodes.length),
      ...obisCodes,
      ...members,
    ]);
  }

  /** Records a batch's answer if Redis lacks it (recovery after a crash); true when it was missing. */
  async restore(
    tenantId: string,
    meterId: string,
    batchId: string,
    answer: TelemetryBatchAnswer,
  ): Promise<boolean> {
    const [keys] = this.layout(tenantId, meterId, batchId, new Map());
    const set = await this.redis.set(
      keys[0]!,
      JSON.stringify(answer),
      'PX',
      this.config.TELEMETRY_DEDUPE_WINDOW_MS,
      'NX',
    );
    return set === 'OK';
  }

  /** Gives the lock back after a failed write; best effort (it expires anyway). */
  async release(tenantId: string, meterId: string, lock: string): Promise<void> {
    await this.run('release', [this.lockKey(tenantId, meterId)], [lock]).catch(() => undefined);
  }

  private lockKey(tenantId: string, meterId: string): string {
    return `tl:{${tenantId}/${meterId}}:lock`;
  }

  private layout(
    tenantId: string,
    meterId: string,
    batchId: string,
    items: ItemsByDay,
  ): [string[], string[]] {
    const tag = `tl:{${tenantId}/${meterId}}`;
    const keys = [`${tag}:b:${batchId}`, this.lockKey(tenantId, meterId), `${tag}:obis`];
    const members: string[] = [];
    for (const [day, identities] of items) {
      keys.push(`${tag}:d:${day}`);
      members.push(String(identities.length), ...identities);
    }
    return [keys, members];
  }

  private async run(script: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    const [source, digest] = SCRIPTS[script];
    try {
      try {
        return await this.redis.evalsha(digest, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await this.redis.eval(source, keys.length, ...keys, ...args);
      }
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw IngestErrors.dedupeUnavailable();
    }
  }
}
