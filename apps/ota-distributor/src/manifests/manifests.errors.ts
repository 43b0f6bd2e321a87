import type { FirmwareFailureCode } from '@meterkeep/firmware';
import { DomainError } from '@meterkeep/service-runtime';

/**
 * Why a manifest is refused (422, audited `ota.manifest-refused` with the code only): the failure codes
 * of @meterkeep/firmware's verifier and the registry (spec §6.8), plus the distributor's checks of the
 * images a manifest names (the codes image verification uses).
 */
export type ManifestRefusalCode = FirmwareFailureCode | 'IMAGE_NOT_VERIFIED' | 'SIZE_MISMATCH';

/** A refusal decided by the rules: the caller's input, never a fault of the distributor. */
export class ManifestRefusal extends DomainError {
  constructor(
    readonly refusal: ManifestRefusalCode,
    message: string,
  ) {
    super('unprocessable', refusal, message);
  }
}

export const ManifestErrors = {
  refused: (code: ManifestRefusalCode, message: string) => new ManifestRefusal(code, message),
  /** The same answer whether the manifest does not exist or is another tenant's. */
  notFound: () => new DomainError('not-found', 'MANIFEST_NOT_FOUND', 'No such manifest'),
  /** The bytes never reached the use case as bytes: another media type, or an encoded body. */
  mediaType: () =>
    new DomainError(
      'unsupported-media-type',
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the signed envelope bytes as application/json, without content encoding',
    ),
  tooLarge: (maxBytes: number) =>
    new DomainError('too-large', 'MANIFEST_TOO_LARGE', `A manifest envelope has at most ${maxBytes} bytes`),
  /** The manifest is accepted already, from other envelope bytes (another set of signatures). */
  acceptedElsewhere: (manifestId: string) =>
    new DomainError(
      'conflict',
      'MANIFEST_ALREADY_ACCEPTED',
      'This manifest was accepted from another envelope; an accepted manifest never changes',
      { manifestId },
    ),
  /** Other bytes sit at the content-addressed key already: the distributor never overwrites them. */
  objectConflict: () =>
    new DomainError(
      'conflict',
      'MANIFEST_OBJECT_CONFLICT',
      'Other envelope bytes of this manifest are stored already and are never overwritten',
    ),
} as const;
