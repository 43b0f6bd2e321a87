/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('enrollment:logger');
