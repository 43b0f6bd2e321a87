import { z } from 'zod';
import { serviceEnv, kafkaEnv, postgresEnv, s3Env } from '@meterkeep/config';

export const DEFAULT_PORT = 3005;

export const PrivacyConfig = z.object({ ...serviceEnv, ...kafkaEnv, ...postgresEnv, ...s3Env });
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;
