import type { KeyObject } from 'node:crypto';
import { endpointName } from '@meterkeep/factory-bundle';
import { z } from 'zod';
import { type FirmwareFailureCode, type Refusal, refuse } from './failure-codes';
import { sha256Hex, utcInstant } from './manifest.schema';
import { openMessage, signMessage } from './signed-message';

/**
 * The online directive (spec §5.2): the distributor's per-device, per-execution, short-lived order
 * naming one manifest digest, signed with the directive key whose public half reaches the meter in the
 * bootstrap answer. A meter installs only when the directive and the manifest both verify.
 */

/** Longest lifetime a meter accepts (the distributor's default is 24 h). */
export const MAX_DIRECTIVE_LIFETIME_MS = 7 * 24 * 3600 * 1000;
export const DIRECTIVE_ACTION_TYPES = ['soft', 'forced', 'timeforced', 'downloadonly'] as const;

const opaqueId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'identifier');
/** At least 128 bits of base64url. */
export const nonce = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, 'base64url nonce of 16 to 64 bytes');

export const directiveSchema = z
  .strictObject({
    /** The meter's endpoint name, its certificate's CN (Uptane wrong-software defence). */
    deviceId: endpointName,
    executionId: opaqueId,
    campaignId: opaqueId,
    manifestDigest: sha256Hex,
    /** Per device, increasing: a directive below the last accepted is a rollback. */
    counter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Echoed in the install receipt, so an old receipt cannot be replayed. */
    nonce,
    issuedAt: utcInstant,
    expiresAt: utcInstant,
    actionType: z.enum(DIRECTIVE_ACTION_TYPES),
    forceAt: utcInstant.optional(),
    window: z.strictObject({ startsAt: utcInstant, endsAt: utcInstant }).optional(),
    pollAfterSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600),
  })
  .superRefine((directive, ctx) => {
    const issued = Date.parse(directive.issuedAt);
    const expires = Date.parse(directive.expiresAt);
    if (!(expires > issued) || expires - issued > MAX_DIRECTIVE_LIFETIME_MS) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'after issuedAt, within 7 days of it' });
    }
    if ((directive.actionType === 'timeforced') !== (directive.forceAt !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['forceAt'],
        message: 'present exactly when actionType is timeforced',
      });
    }
    if (directive.window && !(Date.parse(directive.window.endsAt) > Date.parse(directive.window.startsAt))) {
      ctx.addIssue({ code: 'custom', path: ['window', 'endsAt'], message: 'after startsAt' });
    }
  });

export type Directive = z.infer<typeof directiveSchema>;

/** `{ directive, signature }` as JSON bytes: the signature is base64url DER over the directive's JCS. */
export function signDirective(directive: Directive, privateKey: KeyObject): Buffer {
  return signMessage('directive', directive, directiveSchema, privateKey);
}

export interface DirectiveExpectation {
  /** This meter's endpoint name. */
  readonly deviceId: string;
  /** The counter of the last directive accepted (persisted); undefined before the first. */
  readonly lastCounter: number | undefined;
  /** Trusted time: last authenticated server time plus monotonic elapsed time, never the wall clock alone. */
  readonly trustedNow: Date;
}

export type DirectiveVerification =
  | { readonly ok: true; readonly directive: Directive; readonly canonicalBytes: Buffer }
  | Refusal<FirmwareFailureCode>;

/**
 * The first step of spec §6.3: signature, expiry (Uptane freeze), then the binding to this device and
 * the counter (a repeat of the last counter is the same directive again and passes; lower is a
 * rollback). Never throws.
 */
export function verifyDirective(
  bytes: Uint8Array,
  publicKey: KeyObject,
  expect: DirectiveExpectation,
): DirectiveVerification {
  const opened = openMessage(bytes, 'directive', directiveSchema, publicKey);
  if (!opened.ok) {
    return refuse(
      opened.failure === 'signature' ? 'DIRECTIVE_SIGNATURE_INVALID' : 'DIRECTIVE_MALFORMED',
      opened.message,
    );
  }
  const directive = opened.value;
  if (!(expect.trustedNow.getTime() <= Date.parse(directive.expiresAt))) {
    return refuse('DIRECTIVE_EXPIRED', `directive expired at ${directive.expiresAt}`);
  }
  if (directive.deviceId !== expect.deviceId) {
    return refuse('DIRECTIVE_DEVICE_MISMATCH', 'directive is for another device');
  }
  if (expect.lastCounter !== undefined && directive.counter < expect.lastCounter) {
    return refuse(
      'DIRECTIVE_COUNTER_ROLLBACK',
      `directive counter ${directive.counter} is below the last accepted ${expect.lastCounter}`,
    );
  }
  return { ok: true, directive, canonicalBytes: opened.canonicalBytes };
}
