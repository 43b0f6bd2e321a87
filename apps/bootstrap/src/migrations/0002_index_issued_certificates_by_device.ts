import { type Kysely, type Migration, sql } from 'kysely';

/**
 * A device's certificates, newest first: what its current certificate is (the record published on
 * bootstrap.operational-certificates.v1 when it is revoked).
 */
export const indexIssuedCertificatesByDevice: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql
      .raw(
        `create index issued_certificates_by_device
           on issued_certificates (tenant_id, endpoint_name, issued_at desc)`,
      )
      .execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('drop index if exists issued_certificates_by_device').execute(db);
  },
};
