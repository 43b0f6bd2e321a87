import type { INestApplication } from '@nestjs/common';
import { envelopeBodyReader } from './manifests/envelope-body.middleware';
import { setupOpenApi } from './openapi/openapi';

/**
 * HTTP settings applied before the app starts: the manifest route's bounded byte reader goes on ahead
 * of Nest's JSON body parser (which the app registers at init), then the OpenAPI document.
 */
export function configureHttp(app: INestApplication): void {
  app.use(envelopeBodyReader());
  setupOpenApi(app);
}
