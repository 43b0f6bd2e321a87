import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { DeviceClassRow, Executor } from '../core/database';

export interface DeviceClassValues {
  tenantId: string;
  classId: string;
  vendorId: string;
  maxImageBytes: number;
}

/** The tenant's device classes. Every read names the tenant. */
@Injectable()
export class DeviceClassesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(tenantId: string, classId: string, executor: Executor = this.db): Promise<DeviceClassRow | undefined> {
    return executor
      .selectFrom('device_classes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('class_id', '=', classId)
      .executeTakeFirst();
  }

  /** Creates the class, or changes its cap when its vendor matches; answers the row as it now is. */
  async upsert(values: DeviceClassValues, now: Date): Promise<DeviceClassRow> {
    const row = await this.db
      .insertInto('device_classes')
      .values({
        tenant_id: values.tenantId,
        class_id: values.classId,
        vendor_id: values.vendorId,
        max_image_bytes: values.maxImageBytes,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'class_id'])
          .doUpdateSet({ max_image_bytes: values.maxImageBytes, updated_at: now })
          .where('device_classes.vendor_id', '=', values.vendorId),
      )
      .returningAll()
      .executeTakeFirst();
    // No row back: the class exists under another vendor (the update's condition failed).
    return row ?? (await this.find(values.tenantId, values.classId))!;
  }
}
