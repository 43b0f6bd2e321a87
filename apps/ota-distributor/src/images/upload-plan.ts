import { OTA_UPLOAD_MAX_PARTS } from '@meterkeep/contracts';

export interface PlannedPart {
  partNumber: number;
  /** Exact bytes of this part: every part is `partSize` but the last, which takes the rest. */
  size: number;
}

export interface UploadPlan {
  partSize: number;
  parts: PlannedPart[];
}

/**
 * Splits an image of `size` bytes into multipart-upload parts of `preferredPartSize` (S3: at least
 * 5 MiB each but the last), growing the part size when the image would need more than
 * OTA_UPLOAD_MAX_PARTS parts. Each part's exact size is signed into its URL.
 */
export function planUpload(size: number, preferredPartSize: number): UploadPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`Invalid image size ${size}`);
  if (!Number.isSafeInteger(preferredPartSize) || preferredPartSize < 1)
    throw new RangeError(`Invalid part size ${preferredPartSize}`);
  const partSize = Math.max(preferredPartSize, Math.ceil(size / OTA_UPLOAD_MAX_PARTS));
  const count = Math.ceil(size / partSize);
  const parts = Array.from({ length: count }, (_, i) => ({
    partNumber: i + 1,
    size: i < count - 1 ? partSize : size - partSize * (count - 1),
  }));
  return { partSize, parts };
}

/** Whether a client's part numbers are 1..n, each once, in any order: a whole upload, nothing else. */
export function isWholePartList(partNumbers: readonly number[]): boolean {
  const seen = new Set(partNumbers);
  return (
    seen.size === partNumbers.length &&
    partNumbers.every((n) => Number.isInteger(n) && n >= 1 && n <= seen.size)
  );
}
