import { Module } from '@nestjs/common';
import { CONFIG, DeviceListener, deviceListenerProviders } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from '../config';
import { BatchRecovery } from '../ingest/batch-recovery';
import { IngestErrors } from '../ingest/ingest.errors';
import { IngestModule } from '../ingest/ingest.module';
import { ReadingsWriter } from '../ingest/readings-writer';

/**
 * The meters' and gateways' HTTPS listener (mutual TLS) on TELEMETRY_TLS_PORT. Opens only once the
 * Kafka writer is ready: that fences this replica's previous boot, whose open transaction is aborted
 * (and its batches recovered) before any meter is answered by this one.
 */
@Module({
  imports: [IngestModule],
  providers: deviceListenerProviders({
    inject: [CONFIG, ReadingsWriter, BatchRecovery],
    useFactory: (config: TelemetryIngestConfig, writer: ReadingsWriter, recovery: BatchRecovery) => ({
      port: config.TELEMETRY_TLS_PORT,
      hostnames: config.TELEMETRY_TLS_HOSTNAMES,
      certFile: config.TELEMETRY_TLS_CERT_FILE,
      keyFile: config.TELEMETRY_TLS_KEY_FILE,
      saturated: IngestErrors.saturated(),
      beforeOpen: async () => {
        await writer.ready();
        await recovery.run();
      },
    }),
  }),
  exports: [DeviceListener],
})
export class DeviceListenerModule {}
