import { Injectable } from '@nestjs/common';
import type { FirmwareCompliance } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { ComplianceRepository } from './compliance.repository';

/** The tenant's firmware compliance per device class (spec §6.9), as of now. */
@Injectable()
export class ReadComplianceUseCase {
  constructor(private readonly repository: ComplianceRepository) {}

  async execute(caller: Caller, classId: string | undefined): Promise<FirmwareCompliance> {
    const now = new Date();
    const rows = await this.repository.byClass(caller.tenantId, classId, now);
    return {
      classes: rows.map((row) => ({
        classId: row.class_id,
        latest:
          row.latest_manifest_id === null
            ? null
            : { manifestId: row.latest_manifest_id, sequenceNumber: Number(row.latest_sequence) },
        total: Number(row.total),
        onLatest: Number(row.on_latest),
        updateInProgress: Number(row.update_in_progress),
        newUpdateAvailable: Number(row.new_update_available),
      })),
      asOf: now.toISOString(),
    };
  }
}
