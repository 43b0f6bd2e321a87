import { Inject, Injectable } from '@nestjs/common';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { type KafkaClient, readKeyedRecords } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import { openReadings } from '@meterkeep/reading-seal';

export interface MeterInventory {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  meterId: string;
  records: number;
  recordsUnderDestroyedKeys: number;
}

export interface MeterCheck {
  inventory: MeterInventory;
  /** Records under a destroyed key that every live key of the meter failed to open (as it must). */
  decryptFailures: number;
  /** Records under a destroyed key that some live key opened: erasure did not hold. */
  openedByLiveKey: { offset: string; keyId: string; liveKeyId: string }[];
}

/**
 * Reads back, raw, the records one meter holds in telemetry.readings.v1 (only its partition, as the
 * producers place it) and checks those sealed under the erased keys: each must fail to open with every
 * live key of the meter. What a certificate counts, and what the verifier re-checks.
 */
@Injectable()
export class ReadingsInventory {
  constructor(@Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient) {}

  /** `sinceMs`: where the scan starts (broker timestamp); no record under the keys is older. */
  check(
    tenantId: string,
    meterId: string,
    destroyedKeyIds: ReadonlySet<string>,
    liveKeys: readonly { keyId: string; key: Buffer }[],
    sinceMs?: number,
  ): Promise<MeterCheck> {
    return checkMeterRecords(
      this.kafka,
      tenantId,
      meterId,
      destroyedKeyIds,
      liveKeys,
      'privacy-erasure',
      TELEMETRY_READINGS.name,
      undefined,
      sinceMs,
    );
  }
}

export async function checkMeterRecords(
  kafka: KafkaClient,
  tenantId: string,
  meterId: string,
  destroyedKeyIds: ReadonlySet<string>,
  liveKeys: readonly { keyId: string; key: Buffer }[],
  groupPrefix: string,
  topic: string = TELEMETRY_READINGS.name,
  onEnvelope?: (event: TelemetryReadingEvent, offset: string) => void,
  sinceMs?: number,
): Promise<MeterCheck> {
  let underDestroyed = 0;
  let decryptFailures = 0;
  const openedByLiveKey: MeterCheck['openedByLiveKey'] = [];
  const report = await readKeyedRecords(
    kafka,
    topic,
    `${tenantId}/${meterId}`,
    ({ value, offset }) => {
      const parsed = TELEMETRY_READINGS.schema.safeParse(parseJson(value));
      if (!parsed.success) return;
      const event = parsed.data;
      onEnvelope?.(event, offset);
      if (!destroyedKeyIds.has(event.keyId)) return;
      underDestroyed += 1;
      const opener = liveKeys.find(({ key }) => opens(event, key));
      if (opener) openedByLiveKey.push({ offset, keyId: event.keyId, liveKeyId: opener.keyId });
      else decryptFailures += 1;
    },
    { groupPrefix, ...(sinceMs !== undefined && { sinceMs }) },
  );
  return {
    inventory: {
      topic,
      partition: report.partition,
      firstOffset: report.firstOffset,
      lastOffset: report.lastOffset,
      meterId,
      records: report.records,
      recordsUnderDestroyedKeys: underDestroyed,
    },
    decryptFailures,
    openedByLiveKey,
  };
}

/** A record's value as JSON; undefined when it is not (the schema check then refuses it). */
export function parseJson(value: Buffer | null): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** True when the key opens the record (the AES-GCM tag checks): it must never for an erased record. */
export function opens(event: TelemetryReadingEvent, key: Buffer): boolean {
  try {
    openReadings(event, key);
    return true;
  } catch {
    return false;
  }
}
