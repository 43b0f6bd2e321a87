import { z } from 'zod';
import { kafkaEnv, postgresEnv, serviceEnv } from '@meterkeep/config';

export const DEFAULT_PORT = 3001;

/** 32 random bytes, base64 (`openssl rand -base64 32`): the key under which meters' PSKs are stored. */
export const pskKekEnv = {
  ENROLLMENT_PSK_KEK: z.string().transform((value, context) => {
    const key = Buffer.from(value, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || key.length !== 32) {
      context.addIssue({
        code: 'custom',
        message: 'must be 32 bytes, base64-encoded (openssl rand -base64 32)',
      });
      return z.NEVER;
    }
    return key;
  }),
};

export const EnrollmentConfig = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...postgresEnv,
  ...pskKekEnv,
  /**
   * The shared secret services send in x-internal-token to internal routes (bootstrap's PSK proof
   * check). Unset, the internal routes refuse every call: PSK meters cannot bootstrap until it is set.
   */
  INTERNAL_API_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters (openssl rand -base64 32)')
    .optional(),
});
export type EnrollmentConfig = z.infer<typeof EnrollmentConfig>;
