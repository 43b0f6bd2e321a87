/**
 * Every port Meterkeep listens on or connects to unless told otherwise, in one table: the services'
 * config defaults, the local stack, the test harness, the demo and the README all read it from here
 * (a test holds the README's tables to it).
 */
export const DEFAULT_PORTS = {
  /** Each service's plain HTTP port (`PORT`): health, REST, internal routes. */
  services: {
    enrollment: 3001,
    bootstrap: 3002,
    'telemetry-ingest': 3003,
    'ota-distributor': 3004,
    privacy: 3005,
  },
  /** The meters' mutual-TLS listeners (`BOOTSTRAP_TLS_PORT`, `TELEMETRY_TLS_PORT`, `OTA_TLS_PORT`). */
  deviceListeners: {
    bootstrap: 8443,
    'telemetry-ingest': 8444,
    'ota-distributor': 8445,
  },
  /** The local stack (deploy/local): Kafka and S3Proxy it runs itself, the machine's PostgreSQL and Redis. */
  stack: {
    kafka: 19092,
    kafkaController: 19093,
    s3: 19000,
    postgres: 5432,
    redis: 6379,
  },
} as const;

export type ServiceName = keyof typeof DEFAULT_PORTS.services;

/** A service's internal HTTP address on this machine, at its default port. */
export function defaultServiceUrl(service: ServiceName): string {
  return `http://127.0.0.1:${DEFAULT_PORTS.services[service]}`;
}

/** What a meter on this machine is told for a device listener at its default port. */
export function defaultDeviceUri(service: keyof typeof DEFAULT_PORTS.deviceListeners): string {
  return `https://localhost:${DEFAULT_PORTS.deviceListeners[service]}`;
}
