import { DomainError } from '@meterkeep/service-runtime';

export const DeviceClassErrors = {
  /** The same answer whether the class does not exist or is another tenant's. */
  notFound: (classId: string) =>
    new DomainError('not-found', 'CLASS_NOT_FOUND', `No device class ${classId} in this tenant`),
  /** A class's vendor is fixed: meters were provisioned with it, manifests name it. */
  vendorMismatch: (classId: string, vendorId: string) =>
    new DomainError(
      'conflict',
      'CLASS_VENDOR_MISMATCH',
      `Class ${classId} belongs to vendor ${vendorId}; a class never changes vendor`,
    ),
} as const;
