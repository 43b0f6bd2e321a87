import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { OtaComponentId } from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, ManifestComponentRecord, ManifestRow } from '../core/database';

export interface NewManifest {
  manifestId: string;
  tenantId: string;
  digest: string;
  envelopeSha256: string;
  classId: string;
  vendorId: string;
  sequenceNumber: number;
  components: ManifestComponentRecord[];
  issuedAt: string;
  expiresAt: string | null;
  objectKey: string;
  signerKeyIds: readonly string[];
}

/** Accepted manifests. Every read names the tenant; nothing but a revocation updates a row. */
@Injectable()
export class ManifestsRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(tenantId: string, manifestId: string, executor: Executor = this.db): Promise<ManifestRow | undefined> {
    return executor
      .selectFrom('manifests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .executeTakeFirst();
  }

  findByEnvelope(tenantId: string, envelopeSha256: string, executor: Executor = this.db) {
    return executor
      .selectFrom('manifests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('envelope_sha256', '=', envelopeSha256)
      .executeTakeFirst();
  }

  findByDigest(trx: Executor | undefined, tenantId: string, digest: string) {
    return (trx ?? this.db)
      .selectFrom('manifests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('digest', '=', digest)
      .executeTakeFirst();
  }

  /**
   * Serialises acceptance per (tenant, class) until the transaction ends: two uploads naming a
   * component of one class never both see the same highest sequence.
   */
  async lockClass(trx: Executor, tenantId: string, classId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`ota-manifests/${tenantId}/${classId}`}, 0))`.execute(
      trx,
    );
  }

  /** The highest sequence accepted (revoked ones included) for each of these components of the class. */
  async highestSequences(
    trx: Executor,
    tenantId: string,
    classId: string,
    components: readonly OtaComponentId[],
  ): Promise<Map<OtaComponentId, number>> {
    const rows = await trx
      .selectFrom('manifest_components')
      .select(['component', (eb) => eb.fn.max('sequence_number').as('highest')])
      .where('tenant_id', '=', tenantId)
      .where('class_id', '=', classId)
      .where('component', 'in', components)
      .groupBy('component')
      .execute();
    return new Map(rows.map((row) => [row.component, Number(row.highest)]));
  }

  async insert(trx: Executor, manifest: NewManifest, at: Date): Promise<ManifestRow> {
    const row = await trx
      .insertInto('manifests')
      .values({
        manifest_id: manifest.manifestId,
        tenant_id: manifest.tenantId,
        digest: manifest.digest,
        envelope_sha256: manifest.envelopeSha256,
        class_id: manifest.classId,
        vendor_id: manifest.vendorId,
        sequence_number: manifest.sequenceNumber,
        components: JSON.stringify(manifest.components),
        issued_at: manifest.issuedAt,
        expires_at: manifest.expiresAt,
        object_key: manifest.objectKey,
        signer_key_ids: [...manifest.signerKeyIds],
        state: 'accepted',
        accepted_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('manifest_components')
      .values(
        manifest.components.map((component) => ({
          tenant_id: manifest.tenantId,
          class_id: manifest.classId,
          component: component.id,
          sequence_number: manifest.sequenceNumber,
          manifest_id: manifest.manifestId,
        })),
      )
      .execute();
    return row;
  }

  /** The manifest, locked until the transaction ends. */
  lock(trx: Executor, tenantId: string, manifestId: string): Promise<ManifestRow | undefined> {
    return trx
      .selectFrom('manifests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('manifest_id', '=', manifestId)
      .forUpdate()
      .executeTakeFirst();
  }

  revoke(trx: Executor, manifestId: string, at: Date): Promise<ManifestRow> {
    return trx
      .updateTable('manifests')
      .set({ state: 'revoked', revoked_at: at })
      .where('manifest_id', '=', manifestId)
      .where('state', '=', 'accepted')
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
