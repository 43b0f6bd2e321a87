import type { INestApplication } from '@nestjs/common';
import { setupOpenApiDocs } from '@meterkeep/service-runtime';
import { apiSchemas } from './schemas';

const DESCRIPTION = `Operators' API of the Meterkeep OTA distributor: device classes (vendor, image size cap), the
tenant's update authorities (P-256 public keys that sign manifests offline) and firmware images
(presigned multipart S3 uploads, verified server-side by SHA-256 and size, stored content-addressed),
signed manifests, and deployments of a manifest to an explicit list of devices with their executions.

The device API (\`/ota/v1/...\`: check-in with signed directives, manifest bytes, presigned download URLs,
status reports, install receipts) is for meters over mutual TLS with their operational certificate; it
answers 401 CLIENT_CERTIFICATE_REQUIRED anywhere else.

Every operator route needs \`Authorization: Bearer mk_<keyId>_<secret>\` (an enrollment API key) and is scoped to
the key's tenant; roles are admin, operator and auditor (read-only). Errors are \`{ code, message }\` with
a stable code.`;

/** The OpenAPI document at /docs (Swagger UI) and /docs-json, with the zod schemas as components. */
export function setupOpenApi(app: INestApplication): void {
  setupOpenApiDocs(app, {
    title: 'Meterkeep OTA distributor',
    description: DESCRIPTION,
    apiKeys: true,
    schemas: apiSchemas,
  });
}
