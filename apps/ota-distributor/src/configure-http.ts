import type { INestApplication } from '@nestjs/common';
import { listenerRouting } from '@meterkeep/service-runtime';
import { DeviceEdge, servesPath } from './device-api/device-edge';
import { envelopeBodyReader } from './manifests/envelope-body.middleware';
import { setupOpenApi } from './openapi/openapi';

/**
 * HTTP settings applied before the app starts: listener routing (the device API only on the
 * mutual-TLS listener), the device edge (authentication and bounded bodies of device requests), the
 * manifest route's bounded byte reader, all ahead of Nest's JSON body parser (which the app
 * registers at init); then the OpenAPI document.
 */
export function configureHttp(app: INestApplication): void {
  app.use(listenerRouting(servesPath));
  app.use(app.get(DeviceEdge).middleware());
  app.use(envelopeBodyReader());
  setupOpenApi(app);
}
