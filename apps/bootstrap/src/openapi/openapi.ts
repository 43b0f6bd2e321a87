import type { INestApplication } from '@nestjs/common';
import { type OpenApiDocsOptions, openApiDocument, setupOpenApiDocs } from '@meterkeep/service-runtime';

const DESCRIPTION = `Meterkeep bootstrap: a meter's first contact. On the mutual-TLS device listener
(BOOTSTRAP_TLS_PORT), a meter presents its factory certificate (or proves its PSK) and a CSR, and gets an
operational certificate from its tenant's issuing CA with its bootstrap configuration; in-service meters
renew there. The plain listener (PORT) serves health, this document, the bootstrap server CA and the
tenants' CRLs; the internal (service-to-service) routes answer on the internal listener (INTERNAL_PORT,
mutual TLS with the platform CA), each to the services it names. Errors are \`{ code, message }\` with a stable code; 503 NOT_YET_KNOWN and 429 RATE_LIMITED
carry Retry-After.`;

const OPTIONS: OpenApiDocsOptions = { title: 'Meterkeep bootstrap', description: DESCRIPTION };

/** The OpenAPI document at /docs (Swagger UI) and /docs-json, on the plain listener. */
export function setupOpenApi(app: INestApplication): void {
  setupOpenApiDocs(app, OPTIONS);
}

/** The document setupOpenApi serves. */
export const bootstrapOpenApiDocument = (app: INestApplication) => openApiDocument(app, OPTIONS);
