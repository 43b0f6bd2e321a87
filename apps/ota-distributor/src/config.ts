import { z } from 'zod';
import { DEFAULT_PORTS, serviceEnv, kafkaEnv, postgresEnv, s3Env } from '@meterkeep/config';

export const DEFAULT_PORT = DEFAULT_PORTS.services['ota-distributor'];

export const OtaDistributorConfig = z.object({ ...serviceEnv, ...kafkaEnv, ...postgresEnv, ...s3Env });
export type OtaDistributorConfig = z.infer<typeof OtaDistributorConfig>;

/** Every variable the config reads, for the start-up log (secrets masked there). */
export const OTA_DISTRIBUTOR_ENVIRONMENT = Object.keys(OtaDistributorConfig.shape);
