import { z } from 'zod';
import { serviceEnv, kafkaEnv, postgresEnv } from '@meterkeep/config';

export const DEFAULT_PORT = 3001;

export const EnrollmentConfig = z.object({ ...serviceEnv, ...kafkaEnv, ...postgresEnv });
export type EnrollmentConfig = z.infer<typeof EnrollmentConfig>;
