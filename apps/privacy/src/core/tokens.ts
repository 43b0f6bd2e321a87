/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('privacy:logger');
/** The shared secret of internal routes (INTERNAL_API_TOKEN). */
export const INTERNAL_API_TOKEN = Symbol('privacy:internal-api-token');
/** How operator API keys are resolved: EnrollmentAuthOptions. */
export const ENROLLMENT_AUTH = Symbol('privacy:enrollment-auth');
