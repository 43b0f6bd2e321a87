/** Why a bundle could not be read at all: not JSON, another format, or not the shape of this one. */
export const BUNDLE_ERROR_CODES = [
  'MALFORMED_JSON',
  'UNSUPPORTED_FORMAT',
  'INVALID_BUNDLE',
  'INVALID_OPTIONS',
] as const;
export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

/** One schema violation: where in the bundle (dotted path) and what is wrong there. */
export interface BundleIssue {
  readonly path: string;
  readonly message: string;
}

export class BundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
    readonly issues: readonly BundleIssue[] = [],
  ) {
    super(message);
    this.name = 'BundleError';
  }
}

export function isBundleError(error: unknown, code?: BundleErrorCode): error is BundleError {
  return error instanceof BundleError && (code === undefined || error.code === code);
}
