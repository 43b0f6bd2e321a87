import { type DynamicModule, Module } from '@nestjs/common';
import { DeviceDirectory } from '../device-directory';
import { DeviceIdentities } from '../device-identities';
import { DEVICE_DIRECTORY_OPTIONS, type DeviceDirectoryOptions } from './device-directory.options';
import { DirectorySync } from './directory.sync';

/**
 * The device directory of a device edge: the in-memory projection of the device topics (DeviceDirectory),
 * the consumer that feeds it (DirectorySync, whose `probe` the service adds to its readiness) and the
 * per-connection certificate check (DeviceIdentities). Global: the edge's modules inject them.
 */
@Module({})
export class DeviceDirectoryModule {
  static forRoot(options: DeviceDirectoryOptions): DynamicModule {
    return {
      module: DeviceDirectoryModule,
      global: true,
      providers: [
        { provide: DEVICE_DIRECTORY_OPTIONS, useValue: options },
        DeviceDirectory,
        DirectorySync,
        {
          provide: DeviceIdentities,
          inject: [DeviceDirectory, DirectorySync],
          useFactory: (directory: DeviceDirectory, sync: DirectorySync) =>
            new DeviceIdentities({
              directory,
              peerChain: (socket) => options.peerChain(socket),
              caughtUp: () => sync.isCaughtUp,
            }),
        },
      ],
      exports: [DeviceDirectory, DirectorySync, DeviceIdentities],
    };
  }
}
