import type { INestApplication } from '@nestjs/common';
import { setupOpenApiDocs } from '@meterkeep/service-runtime';
import { apiSchemas } from './schemas';

const DESCRIPTION = `Operators' API of Meterkeep enrollment: tenants' API keys, trusted manufacturer CAs (with proof
of possession), enrollment lists and claims, and the device registry with its lifecycle.

Every route needs \`Authorization: Bearer mk_<keyId>_<secret>\` and is scoped to the key's tenant; roles are
admin, operator and auditor (read-only). Errors are \`{ code, message }\` with a stable code.`;

/** The OpenAPI document at /docs (Swagger UI) and /docs-json, with the zod schemas as components. */
export function setupOpenApi(app: INestApplication): void {
  setupOpenApiDocs(app, {
    title: 'Meterkeep enrollment',
    description: DESCRIPTION,
    apiKeys: true,
    schemas: apiSchemas,
  });
}
