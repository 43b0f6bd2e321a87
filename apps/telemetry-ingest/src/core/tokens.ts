/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('telemetry-ingest:logger');
/** The validated configuration (`@Inject(CONFIG) config: TelemetryIngestConfig`). */
export const CONFIG = Symbol('telemetry-ingest:config');
