import { Inject, Injectable } from '@nestjs/common';
import type { OtaComponentId } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { Receipt } from '@meterkeep/firmware';
import type { Executor } from '../core/database';

export interface InstalledComponent {
  tenantId: string;
  deviceId: string;
  component: OtaComponentId;
  version: string;
  digest: string;
  manifestDigest: string;
  sequenceNumber: number;
  bootedSlot: 'A' | 'B';
  confirmedAt: string;
  receiptDigest: string;
  executionId: string;
}

/** Install receipts (device-signed, one per execution) and the firmware they prove installed. */
@Injectable()
export class ReceiptsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(executionId: string, executor: Executor = this.db) {
    return executor
      .selectFrom('receipts')
      .selectAll()
      .where('execution_id', '=', executionId)
      .executeTakeFirst();
  }

  async insert(
    trx: Executor,
    receipt: {
      executionId: string;
      tenantId: string;
      deviceId: string;
      receiptDigest: string;
      receiptBody: Receipt;
      receiptSignature: string;
      certificateSerial: string;
    },
    now: Date,
  ): Promise<void> {
    await trx
      .insertInto('receipts')
      .values({
        execution_id: receipt.executionId,
        tenant_id: receipt.tenantId,
        device_id: receipt.deviceId,
        receipt_digest: receipt.receiptDigest,
        receipt_body: JSON.stringify(receipt.receiptBody),
        receipt_signature: receipt.receiptSignature,
        certificate_serial: receipt.certificateSerial,
        received_at: now,
      })
      .execute();
  }

  async recordInstalled(trx: Executor, components: readonly InstalledComponent[]): Promise<void> {
    for (const c of components) {
      const values = {
        version: c.version,
        digest: c.digest,
        manifest_digest: c.manifestDigest,
        sequence_number: c.sequenceNumber,
        booted_slot: c.bootedSlot,
        confirmed_at: c.confirmedAt,
        receipt_digest: c.receiptDigest,
        execution_id: c.executionId,
      };
      await trx
        .insertInto('installed_firmware')
        .values({ tenant_id: c.tenantId, device_id: c.deviceId, component: c.component, ...values })
        .onConflict((oc) => oc.columns(['tenant_id', 'device_id', 'component']).doUpdateSet(values))
        .execute();
    }
  }
}
