import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { DeviceListener } from './device-listener';
import { ServerCredentials } from './server-credentials';

@Module({
  imports: [IngestModule],
  providers: [ServerCredentials, DeviceListener],
  exports: [DeviceListener],
})
export class DeviceListenerModule {}
