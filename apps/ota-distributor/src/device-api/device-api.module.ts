import { Module } from '@nestjs/common';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { ServiceState } from '@meterkeep/service-runtime';
import { DeviceEdge } from './device-edge';
import { DeviceListener } from './device-listener';
import { ServerCredentials } from './server-credentials';

/**
 * The meters' side of the distributor: the mutual-TLS listener, and the edge that authenticates each
 * request (DeviceEdge, applied by configureHttp) so that controllers read the meter with CurrentMeter().
 * The device directory it asks comes from DeviceDirectoryModule (AppModule).
 */
@Module({
  providers: [ServerCredentials, DeviceListener, DeviceEdge],
  exports: [DeviceListener, DeviceEdge],
})
export class DeviceApiModule {
  constructor(state: ServiceState, sync: DirectorySync) {
    // Not ready before the directory knows every meter: until then they would all be told to retry.
    state.addProbe(sync.probe);
  }
}
