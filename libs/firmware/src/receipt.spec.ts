// Spec §4.2 (Uptane) report replay, and §4.1 THREAT.NET.ONPATH's signed install receipts.
import { describe, expect, it } from 'vitest';
import { newKeyPair, receipt } from '../test/fixtures';
import { canonicalize } from './canonical-json';
import { type ReceiptExpectation, signReceipt, verifyReceipt } from './receipt';
import { sha256Hex } from './signature';

const operational = newKeyPair();
const expectation: ReceiptExpectation = {
  deviceId: 'MTR-000001',
  executionId: 'exe-000001',
  nonce: receipt().nonce,
};
const code = (result: ReturnType<typeof verifyReceipt>) => (result.ok ? 'ok' : result.code);

describe('signReceipt / verifyReceipt', () => {
  it('verifies a receipt signed with the meter key and gives its digest', () => {
    const result = verifyReceipt(
      signReceipt(receipt(), operational.privateKey),
      operational.publicKey,
      expectation,
    );
    expect(result).toMatchObject({
      ok: true,
      receipt: receipt(),
      digest: sha256Hex(Buffer.from(canonicalize(receipt()))),
    });
  });

  it('dist.status.unsigned-receipt-not-counted: another key, an edited receipt or no signature is refused', () => {
    const other = newKeyPair();
    expect(
      code(verifyReceipt(signReceipt(receipt(), other.privateKey), operational.publicKey, expectation)),
    ).toBe('RECEIPT_SIGNATURE_INVALID');
    const edited = JSON.parse(signReceipt(receipt(), operational.privateKey).toString());
    edited.receipt.bootedSlot = 'A';
    expect(code(verifyReceipt(Buffer.from(JSON.stringify(edited)), operational.publicKey, expectation))).toBe(
      'RECEIPT_SIGNATURE_INVALID',
    );
    expect(
      code(
        verifyReceipt(
          Buffer.from(JSON.stringify({ receipt: receipt() })),
          operational.publicKey,
          expectation,
        ),
      ),
    ).toBe('RECEIPT_SIGNATURE_INVALID');
  });

  it('uptane.report-replay.nonce-refused', () => {
    // A valid receipt of an earlier directive (its nonce) replayed for the current one.
    const old = signReceipt(receipt({ nonce: 'older-nonce-older-nonce' }), operational.privateKey);
    expect(code(verifyReceipt(old, operational.publicKey, expectation))).toBe('RECEIPT_NONCE_MISMATCH');
    expect(
      code(verifyReceipt(old, operational.publicKey, { ...expectation, nonce: 'older-nonce-older-nonce' })),
    ).toBe('ok');
  });

  it('binds the receipt to the device and the execution', () => {
    const bytes = signReceipt(receipt(), operational.privateKey);
    expect(
      code(verifyReceipt(bytes, operational.publicKey, { ...expectation, deviceId: 'MTR-000002' })),
    ).toBe('RECEIPT_DEVICE_MISMATCH');
    expect(
      code(verifyReceipt(bytes, operational.publicKey, { ...expectation, executionId: 'exe-000002' })),
    ).toBe('RECEIPT_EXECUTION_MISMATCH');
  });

  it('refuses unknown fields, unknown components and an empty image list', () => {
    const extra = JSON.parse(signReceipt(receipt(), operational.privateKey).toString());
    extra.receipt.health = 'fine';
    expect(code(verifyReceipt(Buffer.from(JSON.stringify(extra)), operational.publicKey, expectation))).toBe(
      'RECEIPT_MALFORMED',
    );
    expect(() => signReceipt(receipt({ bootedImageDigests: {} }), operational.privateKey)).toThrow(
      /bootedImageDigests/,
    );
    // A "__proto__" member is a member like any other: refused, not skipped (and never a prototype).
    const text = signReceipt(receipt(), operational.privateKey)
      .toString()
      .replace(
        '"bootedImageDigests":{',
        `"bootedImageDigests":{"__proto__":{"metrology":"${'f'.repeat(64)}"},`,
      );
    expect(code(verifyReceipt(Buffer.from(text), operational.publicKey, expectation))).toBe(
      'RECEIPT_MALFORMED',
    );
    expect(() =>
      signReceipt(
        receipt({ bootedImageDigests: { bootloader: 'a'.repeat(64) } as never }),
        operational.privateKey,
      ),
    ).toThrow();
  });
});
