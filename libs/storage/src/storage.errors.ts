export type StorageErrorCode = 'INVALID_BUCKET_NAME' | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'BUCKET_NOT_OWNED';

/** The one error type of this library; `code` says what went wrong without parsing the message. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}
