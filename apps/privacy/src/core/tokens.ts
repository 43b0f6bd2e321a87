/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('privacy:logger');
/** How operator API keys are resolved: EnrollmentAuthOptions. */
export const ENROLLMENT_AUTH = Symbol('privacy:enrollment-auth');
