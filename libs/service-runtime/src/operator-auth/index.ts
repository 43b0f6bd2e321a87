// Operator API keys for a service that does not own them (`@meterkeep/service-runtime/operator-auth`):
// enrollment resolves them, revocations arrive on Kafka. Enrollment itself resolves its keys locally.
export { AuthenticatedByEnrollment } from './authenticated-by-enrollment.decorator';
export { AUTH_RETRY_AFTER_SECONDS, OperatorAuthErrors } from './operator-auth.errors';
export { MAX_CACHE_TTL_MS, REFUSAL_TTL_MS, AuthenticateCallerUseCase } from './authenticate-caller.use-case';
export type { EnrollmentAuthOptions } from './enrollment-api-keys.client';
export { OperatorAuthModule, type OperatorAuthModuleOptions } from './operator-auth.module';
