import { ApiSchemaRegistry } from '@meterkeep/service-runtime';

/** The OTA distributor's named zod schemas: the components of its OpenAPI document ('Error' among them). */
export const apiSchemas = new ApiSchemaRegistry();

/**
 * Names a zod schema as an OpenAPI component. The same schema validates requests (ZodPipe) and
 * documents them, so the docs cannot drift from what the service accepts.
 */
export const apiSchema = apiSchemas.add.bind(apiSchemas);
