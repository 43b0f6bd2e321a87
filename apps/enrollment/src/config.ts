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

/** Decommissioning sagas (decommissions/): the record's signing key, how missing steps are asked again. */
export const decommissionEnv = {
  /**
   * The decommission records' signing key (PEM, ECDSA P-256), a mounted file; records are ES256 over
   * RFC 8785 JSON. Without it a saga whose steps are all confirmed waits (and says so) until it is set.
   */
  ENROLLMENT_DECOMMISSION_KEY_FILE: z.string().min(1).optional(),
  /** First wait before a missing step is asked for again (doubling, at most 60 s). */
  ENROLLMENT_DECOMMISSION_RETRY_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
};

export const EnrollmentConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...pskKekEnv,
  ...decommissionEnv,
  // Internal routes (PSK proofs for bootstrap, API-key introspection for privacy) over mutual TLS.
  ...serviceIdentityEnv,
  ...internalListenerEnv('enrollment'),
});
export type EnrollmentConfig = z.infer<typeof EnrollmentConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const ENROLLMENT_ENVIRONMENT = Object.keys(EnrollmentConfig.shape);
