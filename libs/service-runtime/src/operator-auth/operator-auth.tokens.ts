/** How operator API keys are resolved: EnrollmentAuthOptions, built by OperatorAuthModule.forRoot. */
export const ENROLLMENT_AUTH = Symbol('meterkeep:enrollment-auth');
/** The name of the service the module runs in (its revocation consumer's group is named after it). */
export const OPERATOR_AUTH_SERVICE = Symbol('meterkeep:operator-auth-service');
