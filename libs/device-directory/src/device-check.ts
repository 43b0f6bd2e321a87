import type { CertificateEntry, DeviceDirectory, DeviceEntry } from './device-directory';

/**
 * Why a device edge refuses a meter, as both edges (telemetry, OTA) spell it in their contracts: the
 * codes are the same there, each edge maps them to its own error catalogue and status.
 */
export type DeviceRefusalCode =
  | 'CLIENT_CERTIFICATE_REQUIRED'
  | 'CERTIFICATE_UNTRUSTED'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_REVOKED'
  | 'METER_NOT_ACTIVE'
  | 'NOT_YET_KNOWN';

/** How a refusal reads over HTTP: 401, 403, or 503 with Retry-After. */
export type DeviceRefusalKind = 'unauthenticated' | 'forbidden' | 'unavailable';

export interface DeviceRefusal {
  ok: false;
  kind: DeviceRefusalKind;
  code: DeviceRefusalCode;
  message: string;
}

const KINDS: Record<DeviceRefusalCode, DeviceRefusalKind> = {
  CLIENT_CERTIFICATE_REQUIRED: 'unauthenticated',
  CERTIFICATE_UNTRUSTED: 'unauthenticated',
  CERTIFICATE_EXPIRED: 'unauthenticated',
  CERTIFICATE_REVOKED: 'unauthenticated',
  METER_NOT_ACTIVE: 'forbidden',
  NOT_YET_KNOWN: 'unavailable',
};

export function deviceRefusal(code: DeviceRefusalCode, message: string): DeviceRefusal {
  return { ok: false, kind: KINDS[code], code, message };
}

export function isDeviceRefusal(value: unknown): value is DeviceRefusal {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}

/** What a verified operational certificate says of its holder. */
export interface CertifiedSender {
  /** The certificate's CN: the meter's (or gateway's) endpoint name. */
  endpointName: string;
  /** Serial of the certificate presented (lowercase hex). */
  serial: string;
  notAfter: number;
}

/** The directory as the checks read it, within one tenant. */
export interface DirectoryView {
  /** Whether the directory has read the topics up to where they were when this process started. */
  caughtUp: boolean;
  device(deviceId: string): DeviceEntry | undefined;
  certificate(deviceId: string): CertificateEntry | undefined;
}

/** One tenant's part of the directory. */
export function tenantView(directory: DeviceDirectory, tenantId: string, caughtUp: boolean): DirectoryView {
  return {
    caughtUp,
    device: (id) => directory.device(tenantId, id),
    certificate: (id) => directory.certificate(tenantId, id),
  };
}

/**
 * What the directory does not know: "retry later" until it has caught up with Kafka, then a meter
 * that is not active (no leak of whether it exists elsewhere).
 */
export function notYetKnown(view: DirectoryView, what: string): DeviceRefusal {
  return view.caughtUp
    ? deviceRefusal('METER_NOT_ACTIVE', `${what} is not an active meter`)
    : deviceRefusal('NOT_YET_KNOWN', `${what} is not known yet; retry later`);
}

/**
 * May this certificate's holder be served at all? Its certificate must not have expired, its device
 * must be ACTIVE (enrollment's topic), and the certificate must be the device's current, unrevoked
 * one (bootstrap's topic). Asked per request: a revocation or a suspension takes effect on the next one.
 */
export function checkSender(
  sender: CertifiedSender,
  view: DirectoryView,
  now: number,
): { ok: true; device: DeviceEntry } | DeviceRefusal {
  if (sender.notAfter <= now)
    return deviceRefusal('CERTIFICATE_EXPIRED', 'The client certificate has expired');
  // The device's state first: a suspended meter (whose certificate is revoked with it) is told it is
  // not active, not to bootstrap again.
  const device = view.device(sender.endpointName);
  if (!device) return notYetKnown(view, 'The sender');
  if (device.status !== 'ACTIVE')
    return deviceRefusal('METER_NOT_ACTIVE', 'The sender is not an active meter');
  const certificate = view.certificate(sender.endpointName);
  if (!certificate) return notYetKnown(view, 'The sender');
  if (certificate.serial !== sender.serial || certificate.status === 'revoked')
    return deviceRefusal('CERTIFICATE_REVOKED', 'This certificate was revoked or replaced; bootstrap again');
  return { ok: true, device };
}
