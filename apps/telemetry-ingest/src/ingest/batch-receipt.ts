import { type TelemetryBatchAnswer, telemetryBatchAnswer } from '@meterkeep/contracts';
import { z } from 'zod';

/** Kafka headers of a batch's first record: which replica wrote it, and the answer the meter got. */
export const RECEIPT_HEADERS = {
  instance: 'x-meterkeep-ingest-instance',
  receipt: 'x-meterkeep-batch-receipt',
} as const;

const receipt = z.object({ tenantId: z.string(), answer: telemetryBatchAnswer });
export type BatchReceipt = z.infer<typeof receipt>;

export function batchReceiptHeaders(
  instanceId: string,
  tenantId: string,
  answer: TelemetryBatchAnswer,
): Record<string, string> {
  return {
    [RECEIPT_HEADERS.instance]: instanceId,
    [RECEIPT_HEADERS.receipt]: JSON.stringify({ tenantId, answer } satisfies BatchReceipt),
  };
}

/** The receipt a record carries, if any (malformed ones are ignored: they are only a hint). */
export function batchReceiptOf(headers: Record<string, string>): BatchReceipt | undefined {
  const raw = headers[RECEIPT_HEADERS.receipt];
  if (!raw) return undefined;
  try {
    const parsed = receipt.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
