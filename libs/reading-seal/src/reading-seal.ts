import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedReadings, TelemetryReadingEvent } from '@meterkeep/contracts';
import { sealedReadings } from '@meterkeep/contracts';

/** A data key as the vault serves it: 32 bytes for AES-256-GCM, and its id. */
export interface DataKey {
  keyId: string;
  key: Buffer;
}

/** What the ciphertext is bound to: moving it to another meter, tenant, key or event fails to open. */
export interface SealContext {
  eventId: string;
  tenantId: string;
  meterId: string;
}

export type SealedEnvelope = Pick<
  TelemetryReadingEvent,
  'keyId' | 'algorithm' | 'iv' | 'ciphertext' | 'authTag' | 'readingCount' | 'intervalFrom' | 'intervalTo'
>;

const IV_BYTES = 12;

function additionalData(context: SealContext, keyId: string): Buffer {
  return Buffer.from(
    `meterkeep/readings/v1\0${context.tenantId}\0${context.meterId}\0${keyId}\0${context.eventId}`,
  );
}

/** Encrypts a batch's accepted readings under a data key (AES-256-GCM, random 96-bit IV). */
export function sealReadings(
  payload: SealedReadings,
  dataKey: DataKey,
  context: SealContext,
): SealedEnvelope {
  if (dataKey.key.length !== 32) throw new Error('A data key is 32 bytes');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
  cipher.setAAD(additionalData(context, dataKey.keyId));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return {
    keyId: dataKey.keyId,
    algorithm: 'AES-256-GCM',
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    authTag: cipher.getAuthTag().toString('base64'),
    readingCount: payload.readings.length + payload.events.length,
    ...readingTimeBounds(payload),
  };
}

/** An item's reading time, as ingest chose its key by: a reading's interval start, an event's occurrence. */
export function itemTimes(payload: Pick<SealedReadings, 'readings' | 'events'>): number[] {
  return [
    ...payload.readings.map((r) => Date.parse(r.intervalStart)),
    ...payload.events.map((e) => Date.parse(e.occurredAt)),
  ];
}

/** The earliest and latest item time of a sealed payload (inclusive), as the envelope states them. */
export function readingTimeBounds(
  payload: Pick<SealedReadings, 'readings' | 'events'>,
): Pick<TelemetryReadingEvent, 'intervalFrom' | 'intervalTo'> {
  const times = itemTimes(payload);
  if (times.length === 0) return {};
  let from = times[0]!;
  let to = from;
  for (const t of times) {
    if (t < from) from = t;
    if (t > to) to = t;
  }
  return { intervalFrom: new Date(from).toISOString(), intervalTo: new Date(to).toISOString() };
}

/** Opens a telemetry.readings.v1 event with its data key; throws when the key or the binding is wrong. */
export function openReadings(
  event: Pick<
    TelemetryReadingEvent,
    'eventId' | 'tenantId' | 'meterId' | 'keyId' | 'iv' | 'ciphertext' | 'authTag'
  >,
  key: Buffer,
): SealedReadings {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(event.iv, 'base64'));
  decipher.setAAD(additionalData(event, event.keyId));
  decipher.setAuthTag(Buffer.from(event.authTag, 'base64'));
  const plaintext = Buffer.concat([
    decipher.update(Buffer.from(event.ciphertext, 'base64')),
    decipher.final(),
  ]);
  return sealedReadings.parse(JSON.parse(plaintext.toString('utf8')));
}

/**
 * A stable event id for one batch's record under one key: a replay of the batch produces the same id,
 * so a downstream consumer that keys on eventId sees one record even across an ingest crash.
 */
export function readingEventId(tenantId: string, meterId: string, batchId: string, keyId: string): string {
  const digest = createHash('sha256').update(`${tenantId}\0${meterId}\0${batchId}\0${keyId}`).digest();
  // RFC 9562 version 8 (custom) UUID over the digest.
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
