import type { INestApplication } from '@nestjs/common';
import { setupOpenApiDocs } from '@meterkeep/service-runtime';
import { apiSchemas } from './schemas';

const DESCRIPTION = `Operators' API of Meterkeep privacy: occupancies (who lived behind a meter, when), their consent
ledger (grant, withdraw, opt out per purpose and recipient, decided by the tenant's policy, the GB preset) and the
data-key vault (one data key per occupancy; destroying it makes that period's readings unreadable).

Every route needs \`Authorization: Bearer mk_<keyId>_<secret>\` (an enrollment API key) and is scoped to
the key's tenant; roles are admin, operator and auditor (read-only). Errors are \`{ code, message }\` with
a stable code.`;

/** The OpenAPI document at /docs (Swagger UI) and /docs-json, with the zod schemas as components. */
export function setupOpenApi(app: INestApplication): void {
  setupOpenApiDocs(app, {
    title: 'Meterkeep privacy',
    description: DESCRIPTION,
    apiKeys: true,
    schemas: apiSchemas,
  });
}
