import { enrollmentDeviceEvent } from '@meterkeep/contracts';

/** The contracts' rule for endpoint names (as in a factory certificate's CN). */
const endpointNameSchema = enrollmentDeviceEvent.shape.deviceId;
/** The contracts' rule for a device class (the factory bundle's classId). */
const classIdSchema = enrollmentDeviceEvent.shape.classId.unwrap();

/** How a meter proves itself at bootstrap: a factory certificate, or a pre-shared key. */
export type EnrollmentCredential =
  | { kind: 'certificate'; fingerprintSha256: string }
  /** The key is a secret: it is sealed before storage and never leaves through an API, log or topic. */
  | { kind: 'psk'; pskIdentity: string; pskKey: Buffer };

/** One meter to enroll, validated: from a list row or a single claim. */
export interface EnrollmentRow {
  /** 1-based line of the list it came from (0 for a claim). */
  line: number;
  endpointName: string;
  credential: EnrollmentCredential;
  model?: string;
  /** The device class the factory wrote into the meter's bundle (what firmware manifests name). */
  classId?: string;
  batchId?: string;
}

/** The raw fields of a row, as strings; empty strings count as absent. */
export interface EnrollmentFields {
  endpointName?: string;
  certificateSha256?: string;
  pskIdentity?: string;
  pskKeyBase64?: string;
  model?: string;
  classId?: string;
  batchId?: string;
}

export type FieldNames = Readonly<Record<keyof EnrollmentFields, string>>;

/** Field names as the factory's CSV header writes them. */
export const CSV_FIELD_NAMES: FieldNames = {
  endpointName: 'endpoint_name',
  certificateSha256: 'certificate_sha256',
  pskIdentity: 'psk_identity',
  pskKeyBase64: 'psk_key_base64',
  model: 'model',
  classId: 'class_id',
  batchId: 'batch_id',
};

/** Field names in NDJSON lists and JSON request bodies. */
export const JSON_FIELD_NAMES: FieldNames = {
  endpointName: 'endpointName',
  certificateSha256: 'certificateSha256',
  pskIdentity: 'pskIdentity',
  pskKeyBase64: 'pskKeyBase64',
  model: 'model',
  classId: 'classId',
  batchId: 'batchId',
};

export const PSK_KEY_MIN_BYTES = 16;
export const PSK_KEY_MAX_BYTES = 64;
const FINGERPRINT = /^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31})$/;
const PSK_IDENTITY = /^[\x21-\x7e]{1,128}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Printable, no control characters: these end up in events, exports and UIs.
const LABEL = /^[^\p{Cc}\p{Cf}]{1,64}$/u;

export type RowValidation = { ok: true; row: Omit<EnrollmentRow, 'line'> } | { ok: false; reason: string };

const present = (value: string | undefined): value is string => value !== undefined && value !== '';

/**
 * Checks one row's fields. Reasons name the field and the rule, never the value: a rejected row may
 * carry a PSK, and reasons are returned to the caller and stored.
 */
export function validateEnrollmentFields(fields: EnrollmentFields, names: FieldNames): RowValidation {
  const fail = (reason: string): RowValidation => ({ ok: false, reason });
  if (!present(fields.endpointName)) return fail(`${names.endpointName}: missing`);
  if (!endpointNameSchema.safeParse(fields.endpointName).success) {
    return fail(
      `${names.endpointName}: must be 1-128 letters, digits or . _ : - and start with a letter or digit`,
    );
  }
  const hasCertificate = present(fields.certificateSha256);
  const hasPsk = present(fields.pskIdentity) || present(fields.pskKeyBase64);
  if (hasCertificate && hasPsk) return fail('row has both a certificate fingerprint and a PSK; give one');
  if (!hasCertificate && !hasPsk) {
    return fail(
      `row has no credential: give ${names.certificateSha256} or ${names.pskIdentity} and ${names.pskKeyBase64}`,
    );
  }

  let credential: EnrollmentCredential;
  if (hasCertificate) {
    if (!FINGERPRINT.test(fields.certificateSha256!)) {
      return fail(`${names.certificateSha256}: must be a SHA-256 fingerprint (64 hex digits)`);
    }
    credential = {
      kind: 'certificate',
      fingerprintSha256: fields.certificateSha256!.replaceAll(':', '').toLowerCase(),
    };
  } else {
    if (!present(fields.pskIdentity)) return fail(`${names.pskIdentity}: missing`);
    if (!PSK_IDENTITY.test(fields.pskIdentity)) {
      return fail(`${names.pskIdentity}: must be 1-128 printable ASCII characters without spaces`);
    }
    if (!present(fields.pskKeyBase64)) return fail(`${names.pskKeyBase64}: missing`);
    if (!BASE64.test(fields.pskKeyBase64)) return fail(`${names.pskKeyBase64}: not valid base64`);
    const pskKey = Buffer.from(fields.pskKeyBase64, 'base64');
    if (pskKey.length < PSK_KEY_MIN_BYTES || pskKey.length > PSK_KEY_MAX_BYTES) {
      pskKey.fill(0);
      return fail(`${names.pskKeyBase64}: key must be ${PSK_KEY_MIN_BYTES} to ${PSK_KEY_MAX_BYTES} bytes`);
    }
    credential = { kind: 'psk', pskIdentity: fields.pskIdentity, pskKey };
  }

  if (present(fields.model) && !LABEL.test(fields.model)) {
    return fail(`${names.model}: must be at most 64 printable characters`);
  }
  if (present(fields.classId) && !classIdSchema.safeParse(fields.classId).success) {
    return fail(`${names.classId}: must be 1-64 letters, digits or . _ : - and start with a letter or digit`);
  }
  if (present(fields.batchId) && !LABEL.test(fields.batchId)) {
    return fail(`${names.batchId}: must be at most 64 printable characters`);
  }
  return {
    ok: true,
    row: {
      endpointName: fields.endpointName,
      credential,
      ...(present(fields.model) && { model: fields.model }),
      ...(present(fields.classId) && { classId: fields.classId }),
      ...(present(fields.batchId) && { batchId: fields.batchId }),
    },
  };
}
