import { Module, type OnModuleInit } from '@nestjs/common';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { ServiceState } from '@meterkeep/service-runtime';
import { SenderIdentity } from '../auth/sender-identity';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG } from '@meterkeep/service-runtime';
import { ErasurePurge } from '../data-keys/erasure-purge';
import { KeyRing } from '../data-keys/key-ring';
import { PrivacyKeysClient } from '../data-keys/privacy-keys.client';
import { AdmissionGate, SenderAdmission } from './admission';
import { BatchRecovery } from './batch-recovery';
import { BatchesController } from './batches.controller';
import { DedupeStore } from './dedupe-store';
import { IngestBatchUseCase } from './ingest-batch.use-case';
import { startItemCountersAtZero } from './ingest-metrics';
import { ReadingsWriter } from './readings-writer';

@Module({
  controllers: [BatchesController],
  providers: [
    SenderIdentity,
    PrivacyKeysClient,
    KeyRing,
    ErasurePurge,
    DedupeStore,
    ReadingsWriter,
    BatchRecovery,
    {
      provide: AdmissionGate,
      inject: [CONFIG],
      useFactory: (config: TelemetryIngestConfig) =>
        new AdmissionGate({
          maxBytes: config.TELEMETRY_MAX_IN_FLIGHT_BYTES,
          maxReadings: config.TELEMETRY_MAX_IN_FLIGHT_READINGS,
          maxBytesPerSender: config.TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SENDER,
          maxBytesPerSource: config.TELEMETRY_MAX_IN_FLIGHT_BYTES_PER_SOURCE,
        }),
    },
    SenderAdmission,
    IngestBatchUseCase,
  ],
  exports: [AdmissionGate, SenderAdmission, ReadingsWriter, BatchRecovery],
})
export class IngestModule implements OnModuleInit {
  constructor(state: ServiceState, sync: DirectorySync) {
    // Not ready before the directory knows every meter: until then they would all be told to retry.
    state.addProbe(sync.probe);
  }

  onModuleInit(): void {
    startItemCountersAtZero();
  }
}
