import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME } from '../auth/authenticated.decorator';
import { openApiComponents } from './schemas';

const DESCRIPTION = `Operators' API of Meterkeep privacy: occupancies (who lived behind a meter, when) and the
data-key vault (one data key per occupancy; destroying it makes that period's readings unreadable).

Every route needs \`Authorization: Bearer mk_<keyId>_<secret>\` (an enrollment API key) and is scoped to
the key's tenant; roles are admin, operator and auditor (read-only). Errors are \`{ code, message }\` with
a stable code.`;

/** The OpenAPI document at /docs (Swagger UI) and /docs-json, with the zod schemas as components. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Meterkeep privacy')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'mk_<keyId>_<secret>', description: 'An API key' },
      API_KEY_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...openApiComponents() },
  };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
