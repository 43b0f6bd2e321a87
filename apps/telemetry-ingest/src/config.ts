import { z } from 'zod';
import { serviceEnv, kafkaEnv, redisEnv } from '@meterkeep/config';

export const DEFAULT_PORT = 3003;

export const TelemetryIngestConfig = z.object({ ...serviceEnv, ...kafkaEnv, ...redisEnv });
export type TelemetryIngestConfig = z.infer<typeof TelemetryIngestConfig>;
