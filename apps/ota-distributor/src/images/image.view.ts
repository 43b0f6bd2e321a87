import type { FirmwareImageView } from '@meterkeep/contracts';
import type { ImageRow } from '../core/database';

export function imageView(row: ImageRow): FirmwareImageView {
  return {
    imageId: row.image_id,
    classId: row.class_id,
    component: row.component,
    sha256: row.sha256,
    size: Number(row.size),
    state: row.state,
    refusalCode: row.refusal_code,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    verifiedAt: row.verified_at?.toISOString() ?? null,
  };
}
