import type { KeyObject } from 'node:crypto';

/**
 * The meter behind a device-API request, once its operational certificate has been verified against
 * its tenant's issuing CA and found current, unrevoked and ACTIVE (the device guard sets it on the
 * request; controllers read it with @AuthenticatedMeter()).
 */
export interface AuthenticatedMeter {
  readonly tenantId: string;
  /** The certificate's CN: the meter's endpoint name. */
  readonly deviceId: string;
  /** Serial of the certificate presented (hex). */
  readonly serial: string;
  /** The certificate's public key: install receipts verify against it. */
  readonly publicKey: KeyObject;
}

/** Where the guard leaves it on the Node request. */
export const AUTHENTICATED_METER = Symbol('authenticated-meter');
