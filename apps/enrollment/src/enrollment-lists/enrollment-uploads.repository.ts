import { Inject, Injectable } from '@nestjs/common';
import type { Insertable, Selectable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { EnrollmentUploadsTable, Executor } from '../core/database';

/** The report of each upload, kept for GET /v1/enrollment-lists/{uploadId}. */
@Injectable()
export class EnrollmentUploadsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async insert(executor: Executor, upload: Insertable<EnrollmentUploadsTable>): Promise<void> {
    await executor.insertInto('enrollment_uploads').values(upload).execute();
  }

  find(tenantId: string, uploadId: string): Promise<Selectable<EnrollmentUploadsTable> | undefined> {
    return this.db
      .selectFrom('enrollment_uploads')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('upload_id', '=', uploadId)
      .executeTakeFirst();
  }
}
