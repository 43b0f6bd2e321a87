/** How operator API keys are resolved: EnrollmentAuthOptions. */
export const ENROLLMENT_AUTH = Symbol('privacy:enrollment-auth');
