import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME } from '../auth/authenticated.decorator';
import type { ApiSchemaRegistry } from './api-schemas';

export interface OpenApiDocsOptions {
  title: string;
  description: string;
  /** Operator routes behind API keys (@Authenticated): documents the bearer scheme they name. */
  apiKeys?: boolean;
  /** The service's named zod schemas, added to the document's components. */
  schemas?: ApiSchemaRegistry;
}

/** The OpenAPI document at /docs (Swagger UI) and /docs-json. */
export function setupOpenApiDocs(app: INestApplication, options: OpenApiDocsOptions): void {
  SwaggerModule.setup('docs', app, openApiDocument(app, options), { jsonDocumentUrl: 'docs-json' });
}

/** The OpenAPI document of the app's routes (what setupOpenApiDocs serves; tests read it). */
export function openApiDocument(
  app: INestApplication,
  { title, description, apiKeys = false, schemas }: OpenApiDocsOptions,
): OpenAPIObject {
  const builder = new DocumentBuilder().setTitle(title).setDescription(description).setVersion('1');
  if (apiKeys)
    builder.addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'mk_<keyId>_<secret>', description: 'An API key' },
      API_KEY_SCHEME,
    );
  const document = SwaggerModule.createDocument(app, builder.build());
  if (schemas)
    document.components = {
      ...document.components,
      schemas: { ...document.components?.schemas, ...schemas.components() },
    };
  return document;
}
