/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('bootstrap:logger');
/** The validated configuration (`@Inject(CONFIG) config: BootstrapConfig`). */
export const CONFIG = Symbol('bootstrap:config');
