import type { Logger } from '@meterkeep/observability';

export interface DeviceDirectoryOptions {
  /**
   * The directory consumer's group id before a random suffix (each replica reads every record):
   * `<service>-directory-<instance>`. Kafka ACLs grant the service its groups by this prefix.
   */
  groupIdPrefix: string;
  logger: Logger;
  /** The client chain a connection presented, leaf first (service-runtime's peerCertificateChain). */
  peerChain(socket: object): Buffer[];
  /**
   * False: the directory is never fed, so it never catches up (tests of the "not known yet" answer).
   * True by default.
   */
  follow?: boolean;
}

export const DEVICE_DIRECTORY_OPTIONS = Symbol('device-directory:options');
