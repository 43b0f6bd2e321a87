import { z } from 'zod';

/**
 * Shared by the OTA topics and by @meterkeep/firmware (the manifest and the meter's verifier), so a
 * component name or a failure code is spelled in one place. Contracts depend on nothing but zod: the
 * firmware library imports these, never the reverse.
 */

/** SUIT component identifiers a meter may carry (spec §5.1); a class need not carry all of them. */
export const OTA_COMPONENT_IDS = ['app', 'metrology', 'modem'] as const;
export type OtaComponentId = (typeof OTA_COMPONENT_IDS)[number];
export const otaComponentId = z.enum(OTA_COMPONENT_IDS);

/** Payload formats a manifest may name; a delta format needs a precursor digest (spec §5.1). */
export const OTA_PAYLOAD_FORMATS = ['raw', 'zstd', 'zstd-patch'] as const;
export type OtaPayloadFormat = (typeof OTA_PAYLOAD_FORMATS)[number];
export const OTA_DELTA_FORMATS: ReadonlySet<OtaPayloadFormat> = new Set(['zstd-patch']);

/**
 * The failure-code registry (spec §6.8): stable strings used by the meter, the events and the abort
 * rules. `DOWNLOAD_HTTP_<status>` is a family (see DOWNLOAD_HTTP_FAILURE). Beyond §6.8, and marked so:
 * MANIFEST_MALFORMED and DIRECTIVE_MALFORMED (bytes that are no well-formed envelope or directive: too
 * large, not JSON, a field unknown or out of bounds), DIRECTIVE_COUNTER_ROLLBACK (a directive counter
 * below the one last accepted; Uptane "rollback (metadata)") and DIRECTIVE_DEVICE_MISMATCH (a directive
 * for another device; Uptane "wrong software").
 */
export const OTA_FAILURE_CODES = [
  'DIRECTIVE_SIGNATURE_INVALID',
  'DIRECTIVE_EXPIRED',
  'DIRECTIVE_MALFORMED',
  'DIRECTIVE_COUNTER_ROLLBACK',
  'DIRECTIVE_DEVICE_MISMATCH',
  'FREEZE_SUSPECTED',
  'MANIFEST_MALFORMED',
  'MANIFEST_SIGNATURE_INVALID',
  'MANIFEST_SIGNATURES_INSUFFICIENT',
  'SIGNING_KEY_REVOKED',
  'VENDOR_MISMATCH',
  'CLASS_MISMATCH',
  'SEQUENCE_ROLLBACK',
  'MANIFEST_EXPIRED',
  'FORMAT_UNSUPPORTED',
  'COMPONENT_UNKNOWN',
  'MIX_AND_MATCH',
  'DOWNLOAD_URL_EXPIRED',
  'DOWNLOAD_SLOW',
  'DOWNLOAD_EXHAUSTED',
  'SIZE_EXCEEDED',
  'DIGEST_MISMATCH',
  'PRECURSOR_MISMATCH',
  'DELTA_RESULT_MISMATCH',
  'INSUFFICIENT_SPACE',
  'INSTALL_WRITE_FAILED',
  'BOOT_VERIFY_FAILED',
  'BOOT_CONFIRM_TIMEOUT',
  'HEALTH_CHECK_FAILED',
  /** Not a failure: the same manifest digest already runs; nothing is fetched. */
  'ALREADY_INSTALLED',
] as const;

/** `DOWNLOAD_HTTP_<status>`: the download answered an HTTP status from 400 to 599. */
export const DOWNLOAD_HTTP_FAILURE = /^DOWNLOAD_HTTP_[45][0-9]{2}$/;

export type OtaFailureCode = (typeof OTA_FAILURE_CODES)[number] | `DOWNLOAD_HTTP_${number}`;

const REGISTERED: ReadonlySet<string> = new Set(OTA_FAILURE_CODES);

export function isOtaFailureCode(value: string): value is OtaFailureCode {
  return REGISTERED.has(value) || DOWNLOAD_HTTP_FAILURE.test(value);
}

/** A registered code; its JSON Schema lists the codes beside the DOWNLOAD_HTTP_<status> pattern. */
export const otaFailureCode = z.union([z.enum(OTA_FAILURE_CODES), z.string().regex(DOWNLOAD_HTTP_FAILURE)]);
