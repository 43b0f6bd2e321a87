import { OTA_PAYLOAD_FORMATS } from '@meterkeep/contracts';
import { type FirmwareFailureCode, type Refusal, refuse } from './failure-codes';
import { type FirmwareManifest, componentName } from './manifest.schema';

/** What the meter knows of itself: the factory bundle's identity and, per component, what it runs. */
export interface DeviceFirmwareState {
  readonly vendorId: string;
  readonly classId: string;
  /**
   * The components this meter has (its class's slots), each with the sequence number of the manifest
   * it last confirmed booting (the persisted counter) and that manifest's digest.
   */
  readonly components: Readonly<
    Record<string, { readonly installedSequence?: number; readonly installedManifestDigest?: string }>
  >;
}

export type DeviceCheck = { readonly ok: true } | Refusal<FirmwareFailureCode>;

const FORMATS: ReadonlySet<string> = new Set(OTA_PAYLOAD_FORMATS);

/**
 * The checks after the signatures, in the order of spec §6.3, first failure wins: vendor, class
 * (byte-for-byte with the factory bundle), sequence (≤ the persisted counter is SEQUENCE_ROLLBACK,
 * unless this very manifest is what runs: ALREADY_INSTALLED, which is no failure but means fetch
 * nothing), expiry against trusted time, then format and component. `manifest` must be the verified
 * copy from verifyManifestEnvelope and `manifestDigest` its digest.
 */
export function checkManifestForDevice(
  manifest: FirmwareManifest,
  device: DeviceFirmwareState,
  manifestDigest: string,
  trustedNow: Date,
): DeviceCheck {
  if (manifest.vendorId !== device.vendorId) {
    return refuse('VENDOR_MISMATCH', `manifest vendor ${manifest.vendorId} is not this meter's`);
  }
  if (manifest.classId !== device.classId) {
    return refuse('CLASS_MISMATCH', `manifest class ${manifest.classId} is not this meter's`);
  }

  const known = manifest.components.filter((c) => Object.hasOwn(device.components, componentName(c)));
  const installedHere = (name: string) => device.components[name]?.installedManifestDigest === manifestDigest;
  if (
    known.length > 0 &&
    known.length === manifest.components.length &&
    known.every((c) => installedHere(componentName(c)))
  ) {
    return refuse('ALREADY_INSTALLED', `manifest ${manifestDigest} already runs`);
  }
  for (const component of known) {
    const name = componentName(component);
    if (installedHere(name)) continue;
    const installed = device.components[name]?.installedSequence;
    if (installed !== undefined && manifest.sequenceNumber <= installed) {
      return refuse(
        'SEQUENCE_ROLLBACK',
        `component ${name}: sequence ${manifest.sequenceNumber} is not above the installed ${installed}`,
      );
    }
  }

  if (manifest.expiresAt === undefined) {
    if (manifest.endOfLife !== true)
      return refuse('MANIFEST_EXPIRED', 'manifest has no expiry and is not end-of-life');
  } else if (!(trustedNow.getTime() <= Date.parse(manifest.expiresAt))) {
    return refuse('MANIFEST_EXPIRED', `manifest expired at ${manifest.expiresAt}`);
  }

  for (const component of manifest.components) {
    const name = componentName(component);
    if (!FORMATS.has(component.format)) {
      return refuse(
        'FORMAT_UNSUPPORTED',
        `component ${name}: format ${String(component.format)} is not supported`,
      );
    }
    if (!Object.hasOwn(device.components, name)) {
      return refuse('COMPONENT_UNKNOWN', `component ${name} does not exist on this meter`);
    }
  }
  return { ok: true };
}
