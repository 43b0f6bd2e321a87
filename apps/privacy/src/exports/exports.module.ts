import { Module } from '@nestjs/common';
import { ConsentsModule } from '../consents/consents.module';
import { DataKeysModule } from '../data-keys/data-keys.module';
import { RetentionModule } from '../retention/retention.module';
import { KeyEpochsModule } from '../key-epochs/key-epochs.module';
import { ArchiveKeys } from './archive-keys';
import { ExportJob } from './export-job';
import { ExportsController } from './exports.controller';
import { ExportsPurge } from './exports-purge';
import { ExportsRepository } from './exports.repository';
import { GetExportUseCase } from './get-export.use-case';
import { ReadingRangesRepository } from './reading-ranges.repository';
import { RequestExportUseCase } from './request-export.use-case';
import { SubjectReadings } from './subject-readings';
// Registers RequestExport and Export for the OpenAPI document.
import './exports.schemas';

/** Subject access and portability exports (Art. 15/20, spec privacy.md §4.4). */
@Module({
  imports: [ConsentsModule, DataKeysModule, KeyEpochsModule, RetentionModule],
  controllers: [ExportsController],
  providers: [
    ArchiveKeys,
    ExportsRepository,
    ReadingRangesRepository,
    SubjectReadings,
    ExportJob,
    RequestExportUseCase,
    GetExportUseCase,
    ExportsPurge,
  ],
  exports: [ExportsPurge],
})
export class ExportsModule {}
