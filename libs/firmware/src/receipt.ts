import type { KeyObject } from 'node:crypto';
import { OTA_COMPONENT_IDS } from '@meterkeep/contracts';
import { endpointName } from '@meterkeep/factory-bundle';
import { z } from 'zod';
import { type Refusal, refuse } from './failure-codes';
import { sha256Hex, utcInstant } from './manifest.schema';
import { nonce } from './directive';
import { sha256Hex as digestOf } from './signature';
import { openMessage, signMessage } from './signed-message';

/**
 * The install receipt (spec §6.2): signed with the meter's operational key after a confirmed boot; only
 * a receipt that verifies against the meter's current certificate moves an execution to SUCCEEDED. It
 * carries the directive's nonce, so a receipt from an earlier directive cannot be replayed.
 */
export const receiptSchema = z
  .strictObject({
    deviceId: endpointName,
    executionId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'identifier'),
    manifestDigest: sha256Hex,
    sequenceNumber: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    bootedSlot: z.enum(['A', 'B']),
    // A strict object, not z.partialRecord: that one skips a "__proto__" member silently (found by the
    // fuzz test), and a signed object refuses what it does not know.
    bootedImageDigests: z.strictObject(
      Object.fromEntries(OTA_COMPONENT_IDS.map((id) => [id, sha256Hex.optional()])) as Record<
        (typeof OTA_COMPONENT_IDS)[number],
        z.ZodOptional<typeof sha256Hex>
      >,
    ),
    confirmedAt: utcInstant,
    nonce,
  })
  .refine((receipt) => Object.keys(receipt.bootedImageDigests).length > 0, {
    path: ['bootedImageDigests'],
    message: 'at least one booted image',
  });

export type Receipt = z.infer<typeof receiptSchema>;

/** Refusals of a receipt: the distributor's, so beside the meter's registry rather than in it. */
export const RECEIPT_FAILURE_CODES = [
  'RECEIPT_MALFORMED',
  'RECEIPT_SIGNATURE_INVALID',
  'RECEIPT_DEVICE_MISMATCH',
  'RECEIPT_EXECUTION_MISMATCH',
  'RECEIPT_NONCE_MISMATCH',
] as const;
export type ReceiptFailureCode = (typeof RECEIPT_FAILURE_CODES)[number];

/** `{ receipt, signature }` as JSON bytes: base64url DER over the receipt's JCS. */
export function signReceipt(receipt: Receipt, privateKey: KeyObject): Buffer {
  return signMessage('receipt', receipt, receiptSchema, privateKey);
}

export interface ReceiptExpectation {
  /** The CN of the certificate the receipt's key belongs to. */
  readonly deviceId: string;
  readonly executionId: string;
  /** The nonce of the directive this execution last issued. */
  readonly nonce: string;
}

export type ReceiptVerification =
  | {
      readonly ok: true;
      readonly receipt: Receipt;
      readonly canonicalBytes: Buffer;
      /** SHA-256 of the canonical receipt: the event's and the audit chain's receiptDigest. */
      readonly digest: string;
    }
  | Refusal<ReceiptFailureCode>;

/** Verifies the signature, then the binding to the device, the execution and the directive's nonce. */
export function verifyReceipt(
  bytes: Uint8Array,
  publicKey: KeyObject,
  expect: ReceiptExpectation,
): ReceiptVerification {
  const opened = openMessage(bytes, 'receipt', receiptSchema, publicKey);
  if (!opened.ok) {
    return refuse(
      opened.failure === 'signature' ? 'RECEIPT_SIGNATURE_INVALID' : 'RECEIPT_MALFORMED',
      opened.message,
    );
  }
  const receipt = opened.value;
  if (receipt.deviceId !== expect.deviceId)
    return refuse('RECEIPT_DEVICE_MISMATCH', 'receipt names another device');
  if (receipt.executionId !== expect.executionId) {
    return refuse('RECEIPT_EXECUTION_MISMATCH', 'receipt names another execution');
  }
  if (receipt.nonce !== expect.nonce) {
    return refuse('RECEIPT_NONCE_MISMATCH', "receipt does not carry the current directive's nonce");
  }
  return {
    ok: true,
    receipt,
    canonicalBytes: opened.canonicalBytes,
    digest: digestOf(opened.canonicalBytes),
  };
}
