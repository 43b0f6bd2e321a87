import type { DeviceClassView } from '@meterkeep/contracts';
import type { DeviceClassRow } from '../core/database';

export function deviceClassView(row: DeviceClassRow): DeviceClassView {
  return {
    classId: row.class_id,
    vendorId: row.vendor_id,
    maxImageBytes: Number(row.max_image_bytes),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
