import { z } from 'zod';
import {
  base64KeySchema,
  DEFAULT_PORTS,
  internalListenerEnv,
  serviceIdentityEnv,
  kafkaEnv,
  postgresEnv,
  serviceEnv,
} from '@meterkeep/config';

export const DEFAULT_PORT = DEFAULT_PORTS.services.enrollment;

/** 32 random bytes, base64 (`openssl rand -base64 32`): the key under which meters' PSKs are stored. */
export const pskKekEnv = {
  ENROLLMENT_PSK_KEK: base64KeySchema(),
};

export const EnrollmentConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...pskKekEnv,
  // Internal routes (PSK proofs for bootstrap, API-key introspection for privacy) over mutual TLS.
  ...serviceIdentityEnv,
  ...internalListenerEnv('enrollment'),
});
export type EnrollmentConfig = z.infer<typeof EnrollmentConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const ENROLLMENT_ENVIRONMENT = Object.keys(EnrollmentConfig.shape);
