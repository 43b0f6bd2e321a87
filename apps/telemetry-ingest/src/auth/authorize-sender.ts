import type { TelemetryBatchRefusalCode } from '@meterkeep/contracts';
import {
  type CertifiedSender,
  type DeviceRefusalKind,
  type DirectoryView,
  checkSender,
  notYetKnown,
} from '@meterkeep/device-directory';

export type { DirectoryView } from '@meterkeep/device-directory';

/** Who sent the request, as its verified operational certificate says. */
export interface Sender extends CertifiedSender {
  tenantId: string;
}

export type SenderVerdict =
  { ok: true } | { ok: false; kind: DeviceRefusalKind; code: TelemetryBatchRefusalCode; message: string };

/**
 * May this sender post readings for `meterId`? Its certificate must be the current, unrevoked one of
 * an ACTIVE device (checkSender, shared with the other device edges); the meter must be itself, or
 * one assigned to it as a gateway (same tenant). What the directory does not know yet is "retry
 * later" until it has caught up with Kafka.
 */
export function authorizeSender(
  sender: Sender,
  meterId: string,
  view: DirectoryView,
  now: number,
): SenderVerdict {
  const own = checkSender(sender, view, now);
  if (!own.ok) return own;
  if (meterId === sender.endpointName) return { ok: true };

  // A gateway posting for another meter: no leak of whether that meter exists elsewhere.
  const meter = view.device(meterId);
  if (!meter && !view.caughtUp) return notYetKnown(view, `Meter ${meterId}`);
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
