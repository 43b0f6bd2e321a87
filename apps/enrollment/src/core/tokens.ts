/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('enrollment:logger');
/** The shared secret of internal routes (INTERNAL_API_TOKEN), or undefined when they are off. */
export const INTERNAL_API_TOKEN = Symbol('enrollment:internal-api-token');
