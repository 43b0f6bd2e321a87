import type { TelemetryBatchRefusalCode } from '@meterkeep/contracts';
import type { CertificateEntry, DeviceEntry } from '../directory/device-directory';

/** Who sent the request, as its verified operational certificate says. */
export interface Sender {
  tenantId: string;
  /** The certificate's CN: the meter's (or gateway's) endpoint name. */
  endpointName: string;
  serial: string;
  notAfter: number;
}

export type SenderVerdict =
  | { ok: true }
  | {
      ok: false;
      kind: 'unauthenticated' | 'forbidden' | 'unavailable';
      code: TelemetryBatchRefusalCode;
      message: string;
    };

export interface DirectoryView {
  caughtUp: boolean;
  device(deviceId: string): DeviceEntry | undefined;
  certificate(deviceId: string): CertificateEntry | undefined;
}

/**
 * May this sender post readings for `meterId`? Its certificate must be the current, unrevoked one of
 * an ACTIVE device; the meter must be itself, or one assigned to it as a gateway (same tenant). What
 * the directory does not know yet is "retry later" until it has caught up with Kafka.
 */
export function authorizeSender(
  sender: Sender,
  meterId: string,
  view: DirectoryView,
  now: number,
): SenderVerdict {
  const notYet = (what: string): SenderVerdict =>
    view.caughtUp
      ? { ok: false, kind: 'forbidden', code: 'METER_NOT_ACTIVE', message: `${what} is not an active meter` }
      : {
          ok: false,
          kind: 'unavailable',
          code: 'NOT_YET_KNOWN',
          message: `${what} is not known yet; retry later`,
        };

  if (sender.notAfter <= now)
    return {
      ok: false,
      kind: 'unauthenticated',
      code: 'CERTIFICATE_EXPIRED',
      message: 'The client certificate has expired',
    };
  const certificate = view.certificate(sender.endpointName);
  if (!certificate) return notYet('The sender');
  if (certificate.serial !== sender.serial || certificate.status === 'revoked')
    return {
      ok: false,
      kind: 'unauthenticated',
      code: 'CERTIFICATE_REVOKED',
      message: 'This certificate was revoked or replaced; bootstrap again',
    };
  const device = view.device(sender.endpointName);
  if (!device) return notYet('The sender');
  if (device.status !== 'ACTIVE')
    return {
      ok: false,
      kind: 'forbidden',
      code: 'METER_NOT_ACTIVE',
      message: 'The sender is not an active meter',
    };
  if (meterId === sender.endpointName) return { ok: true };

  // A gateway posting for another meter: no leak of whether that meter exists elsewhere.
  const meter = view.device(meterId);
  if (!meter && !view.caughtUp) return notYet(`Meter ${meterId}`);
  if (meter?.gatewayId !== sender.endpointName)
    return {
      ok: false,
      kind: 'forbidden',
      code: 'NOT_YOUR_METER',
      message: `This sender may not post readings for meter ${meterId}`,
    };
  if (meter.status !== 'ACTIVE')
    return {
      ok: false,
      kind: 'forbidden',
      code: 'METER_NOT_ACTIVE',
      message: `Meter ${meterId} is not active`,
    };
  return { ok: true };
}
