import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { ReleasedTotals, TelemetryReleasedEvent } from '@meterkeep/contracts';
import { releasedTotals } from '@meterkeep/contracts';
import type { DataKey } from './reading-seal';

/** The clear labels of a released record: moving the ciphertext to another one fails to open. */
export type ReleaseLabels = Pick<
  TelemetryReleasedEvent,
  | 'eventId'
  | 'tenantId'
  | 'occupancyId'
  | 'meterId'
  | 'recipient'
  | 'purpose'
  | 'granularity'
  | 'windowStart'
  | 'windowEnd'
>;

export type SealedRelease = Pick<
  TelemetryReleasedEvent,
  'keyId' | 'algorithm' | 'iv' | 'ciphertext' | 'authTag'
>;

function additionalData(labels: ReleaseLabels, keyId: string): Buffer {
  return Buffer.from(
    [
      'meterkeep/released/v1',
      labels.tenantId,
      labels.occupancyId,
      labels.meterId,
      labels.recipient,
      labels.purpose,
      labels.granularity,
      labels.windowStart,
      labels.windowEnd,
      keyId,
      labels.eventId,
    ].join('\0'),
  );
}

/** Seals a released value's totals under its purpose-scoped release key (AES-256-GCM, random IV). */
export function sealRelease(totals: ReleasedTotals, key: DataKey, labels: ReleaseLabels): SealedRelease {
  if (key.key.length !== 32) throw new Error('A release key is 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(additionalData(labels, key.keyId));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(totals), 'utf8'), cipher.final()]);
  return {
    keyId: key.keyId,
    algorithm: 'AES-256-GCM',
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    authTag: cipher.getAuthTag().toString('base64'),
  };
}

/** Opens a telemetry.released.v1 event (at the recipient's boundary); throws on a wrong key or label. */
export function openRelease(event: ReleaseLabels & SealedRelease, key: Buffer): ReleasedTotals {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(event.iv, 'base64'));
  decipher.setAAD(additionalData(event, event.keyId));
  decipher.setAuthTag(Buffer.from(event.authTag, 'base64'));
  const plaintext = Buffer.concat([
    decipher.update(Buffer.from(event.ciphertext, 'base64')),
    decipher.final(),
  ]);
  return releasedTotals.parse(JSON.parse(plaintext.toString('utf8')));
}
