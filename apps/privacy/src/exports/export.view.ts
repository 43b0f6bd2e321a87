import type { ExportRow } from '../core/database';
import type { ExportView } from './exports.schemas';

export const ARCHIVE_ENCRYPTION =
  'MKX1: "MKX1" | IV (12) | GCM tag (16) | ciphertext; AAD = exportId' as const;

export function toExportView(row: ExportRow, download: ExportView['download']): ExportView {
  return {
    exportId: row.export_id,
    subjectRef: row.subject_ref,
    state: row.state,
    occupancyIds: row.occupancy_ids,
    requestedAt: row.requested_at.toISOString(),
    readyAt: row.ready_at?.toISOString() ?? null,
    expiresAt: row.expires_at?.toISOString() ?? null,
    error: row.error,
    summary: row.summary as ExportView['summary'],
    download,
  };
}
