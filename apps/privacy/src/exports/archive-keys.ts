import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from '../config';
import type { Executor } from '../core/database';
import { KeyWrap } from '../core/key-wrap';
import type { DataKeyBinding } from '../data-keys/data-key-cipher';
import { ARCHIVE_KEY_METER } from '../key-epochs/kek-epochs.repository';
import { KekRing, type StoredDataKey } from '../key-epochs/kek-ring';

const binding = (tenantId: string, exportId: string): DataKeyBinding => ({
  tenantId,
  meterId: ARCHIVE_KEY_METER,
  keyId: exportId,
});

/**
 * An export's one-time archive key at rest: wrapped under the current KEK epoch, bound to its tenant and
 * export, so rotation moves it with the data keys, and a backup taken while its link was live stops
 * opening the archive once that epoch is destroyed. An export made before epochs (epoch null) was wrapped
 * under PRIVACY_KEK itself; it still opens until its link lapses.
 */
@Injectable()
export class ArchiveKeys {
  private readonly legacy: KeyWrap;

  constructor(
    private readonly ring: KekRing,
    @Inject(CONFIG) config: Pick<PrivacyConfig, 'PRIVACY_KEK'>,
  ) {
    this.legacy = new KeyWrap(
      config.PRIVACY_KEK,
      'meterkeep/privacy/export-archive-key/v1',
      () => new Error('export key does not unwrap'),
    );
  }

  /** In the caller's transaction: the epoch read there is the one the row records. */
  wrap(trx: Executor, tenantId: string, exportId: string, key: Buffer): Promise<StoredDataKey> {
    return this.ring.wrap(trx, key, binding(tenantId, exportId));
  }

  /** The plain key; KekEpochUnavailableError once its epoch is destroyed. */
  async unwrap(row: {
    tenant_id: string;
    export_id: string;
    wrapped_archive_key: Buffer;
    archive_key_epoch: number | null;
  }): Promise<Buffer> {
    if (row.archive_key_epoch === null)
      return this.legacy.unwrap(row.wrapped_archive_key, Buffer.from(row.export_id, 'utf8'));
    return this.ring.unwrap(
      { wrappedKey: row.wrapped_archive_key, kekEpoch: row.archive_key_epoch },
      binding(row.tenant_id, row.export_id),
    );
  }
}
