/** Where firmware images live and how uploads are presigned: FirmwareStorageOptions. */
export const FIRMWARE_STORAGE = Symbol('ota-distributor:firmware-storage');
