import type { CredentialKind } from './batch-file';

/**
 * The utility's enrollment list: one row per meter, in bundle order. class_id is the bundle's device
 * class: enrollment publishes it, the OTA distributor matches manifests to it.
 */
export const ENROLLMENT_HEADERS: Record<CredentialKind, readonly string[]> = {
  certificate: ['endpoint_name', 'certificate_sha256', 'model', 'batch_id', 'class_id'],
  psk: ['endpoint_name', 'psk_identity', 'psk_key_base64', 'model', 'batch_id', 'class_id'],
};

/** PSK lists carry the keys themselves: owner-only. */
export const ENROLLMENT_LIST_MODE: Record<CredentialKind, number> = { certificate: 0o644, psk: 0o600 };

export function enrollmentHeader(kind: CredentialKind): string {
  return `${ENROLLMENT_HEADERS[kind].join(',')}\n`;
}

/** RFC 4180 quoting, for a field that would otherwise break the row (the schemas keep ours plain). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}
