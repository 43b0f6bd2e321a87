/** How operator API keys are resolved: EnrollmentAuthOptions. */
export const ENROLLMENT_AUTH = Symbol('ota-distributor:enrollment-auth');
/** Where firmware images live and how uploads are presigned: FirmwareStorageOptions. */
export const FIRMWARE_STORAGE = Symbol('ota-distributor:firmware-storage');
