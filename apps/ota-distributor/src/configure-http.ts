import type { INestApplication } from '@nestjs/common';
import { deviceBodyReader } from './device-api/device-body.middleware';
import { envelopeBodyReader } from './manifests/envelope-body.middleware';
import { setupOpenApi } from './openapi/openapi';

/**
 * HTTP settings applied before the app starts: the manifest route's and the device routes' bounded
 * byte readers go on ahead of Nest's JSON body parser (which the app registers at init), then the OpenAPI document.
 */
export function configureHttp(app: INestApplication): void {
  app.use(envelopeBodyReader());
  app.use(deviceBodyReader());
  setupOpenApi(app);
}
