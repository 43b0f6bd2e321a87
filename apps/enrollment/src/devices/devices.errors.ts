import { DomainError } from '@meterkeep/service-runtime';
import { type DeviceCommand, type DeviceState, allowedCommands } from './device-state-machine';

export const DeviceErrors = {
  /** The same answer whether the device does not exist or belongs to another tenant. */
  notFound: () => new DomainError('not-found', 'DEVICE_NOT_FOUND', 'No such device'),
  invalidTransition: (from: DeviceState, command: DeviceCommand) =>
    new DomainError('conflict', 'INVALID_TRANSITION', `A ${from} device cannot ${command}`, {
      state: from,
      command,
      allowed: allowedCommands(from).join(','),
    }),
  invalidClaim: (reason: string) => new DomainError('invalid', 'INVALID_CLAIM', reason),
  claimExpiryInPast: () =>
    new DomainError('invalid', 'INVALID_CLAIM', 'claimExpiresAt must lie in the future'),
  enrollmentLocked: (reason: string) => new DomainError('conflict', 'DEVICE_ENROLLMENT_LOCKED', reason),
  pskIdentityInUse: () =>
    new DomainError(
      'conflict',
      'PSK_IDENTITY_IN_USE',
      'The PSK identity is already used by another device of this tenant',
    ),
  invalidCursor: () =>
    new DomainError('invalid', 'INVALID_CURSOR', 'The cursor is not one this API returned'),
  claimExpired: (endpoint: string) =>
    new DomainError('conflict', 'CLAIM_EXPIRED', `The claim on ${endpoint} expired before it bootstrapped`),
  /** As for devices: the same answer whether it does not exist or belongs to another tenant. */
  gatewayNotFound: () => new DomainError('not-found', 'GATEWAY_NOT_FOUND', 'No such gateway device'),
  gatewayIsSelf: () =>
    new DomainError('unprocessable', 'GATEWAY_IS_SELF', 'A device cannot be its own gateway'),
  gatewayDecommissioned: () =>
    new DomainError('unprocessable', 'GATEWAY_DECOMMISSIONED', 'A decommissioned device cannot be a gateway'),
  decommissioned: () =>
    new DomainError('conflict', 'DEVICE_DECOMMISSIONED', 'A decommissioned meter keeps no credential'),
  credentialKindMismatch: (kind: 'certificate' | 'psk') =>
    new DomainError(
      'invalid',
      'CREDENTIAL_KIND_MISMATCH',
      `This meter proves itself with a ${kind === 'psk' ? 'PSK' : 'certificate'}: rotate to another of that kind`,
    ),
  credentialUnchanged: () =>
    new DomainError('conflict', 'CREDENTIAL_UNCHANGED', 'The new credential must differ from the old'),
  unknownDevice: (endpoint: string) =>
    new DomainError('not-found', 'DEVICE_NOT_FOUND', `No device ${endpoint} in this tenant`),
} as const;
