import { z } from 'zod';
import { serviceEnv, kafkaEnv, postgresEnv, redisEnv } from '@meterkeep/config';

export const DEFAULT_PORT = 3002;

export const BootstrapConfig = z.object({ ...serviceEnv, ...kafkaEnv, ...postgresEnv, ...redisEnv });
export type BootstrapConfig = z.infer<typeof BootstrapConfig>;
