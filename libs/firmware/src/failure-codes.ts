import {
  DOWNLOAD_HTTP_FAILURE,
  OTA_FAILURE_CODES,
  type OtaFailureCode,
  isOtaFailureCode,
} from '@meterkeep/contracts';

/**
 * The failure-code registry (spec §6.8), defined once in @meterkeep/contracts (whose events carry the
 * codes, and which may depend on nothing but zod) and re-exported here under the firmware names.
 */
export const FIRMWARE_FAILURE_CODES = OTA_FAILURE_CODES;
export type FirmwareFailureCode = OtaFailureCode;
export const DOWNLOAD_HTTP_FAILURE_PATTERN = DOWNLOAD_HTTP_FAILURE;
export const isFirmwareFailureCode = isOtaFailureCode;

/** `DOWNLOAD_HTTP_<status>` for an HTTP status from 400 to 599. */
export function downloadHttpFailure(status: number): FirmwareFailureCode {
  const code = `DOWNLOAD_HTTP_${status}`;
  if (!DOWNLOAD_HTTP_FAILURE.test(code)) throw new RangeError(`HTTP ${status} is no download failure`);
  return code as FirmwareFailureCode;
}

/** A refusal: a registry code and a message that names the field or the check, never a secret. */
export interface Refusal<Code extends string = FirmwareFailureCode> {
  readonly ok: false;
  readonly code: Code;
  readonly message: string;
}

export const refuse = <Code extends string>(code: Code, message: string): Refusal<Code> => ({
  ok: false,
  code,
  message,
});
