import { DomainError } from '@meterkeep/service-runtime';
import type { ImageState } from '../core/database';

/** Why an upload's bytes are not the declared image: the image is refused and its bytes deleted. */
export type ImageRefusalCode = 'DIGEST_MISMATCH' | 'SIZE_MISMATCH';

const REFUSALS: Record<ImageRefusalCode, string> = {
  DIGEST_MISMATCH: 'The uploaded bytes do not have the declared SHA-256; the upload was deleted',
  SIZE_MISMATCH: 'The uploaded bytes are not the declared size; the upload was deleted',
};

export const ImageErrors = {
  /** The same answer whether the image does not exist or is another tenant's. */
  notFound: () => new DomainError('not-found', 'IMAGE_NOT_FOUND', 'No such firmware image'),
  sizeExceeded: (classId: string, maxBytes: number) =>
    new DomainError(
      'too-large',
      'SIZE_EXCEEDED',
      `Class ${classId} takes images of at most ${maxBytes} bytes`,
      {
        maxImageBytes: maxBytes,
      },
    ),
  /** An image with this digest is verified already, with another size: the declaration is wrong. */
  sizeConflict: (size: number) =>
    new DomainError(
      'unprocessable',
      'SIZE_MISMATCH',
      `An image with this SHA-256 is verified with ${size} bytes; the declared size differs`,
    ),
  notPending: (state: ImageState) =>
    new DomainError(
      'conflict',
      'IMAGE_NOT_PENDING',
      `The image is ${state}; only a pending upload completes`,
      {
        state,
      },
    ),
  partsInvalid: () =>
    new DomainError(
      'unprocessable',
      'UPLOAD_PARTS_INVALID',
      'S3 refused the part list: name every part once (1..n) with the ETag its PUT answered',
    ),
  refused: (code: ImageRefusalCode) => new DomainError('unprocessable', code, REFUSALS[code]),
} as const;
