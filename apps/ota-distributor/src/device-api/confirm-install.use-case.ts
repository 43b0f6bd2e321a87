import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import {
  OTA_DEVICE_STATUS_V2,
  type OtaComponentId,
  type otaReceiptAnswer,
  signedReceipt,
} from '@meterkeep/contracts';
import { type Receipt, verifyReceipt } from '@meterkeep/firmware';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { CampaignStatusFeed } from '../campaigns/campaign-status-feed';
import type { ManifestComponentRecord } from '../core/database';
import { isActive } from '../executions/execution-states';
import { type ExecutionWithDeployment, ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { ManifestsRepository } from '../manifests/manifests.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import type { AuthenticatedMeter } from './authenticated-meter';
import { installedDigestOf } from './delta-eligibility';
import { OtaDeviceErrors } from './ota-device.errors';
import { ReceiptsRepository } from './receipts.repository';

export type ConfirmedInstall = z.infer<typeof otaReceiptAnswer>;

/**
 * The only way an execution becomes SUCCEEDED (THREAT.NET.ONPATH, e2e.success-only-after-confirmed-boot):
 * a receipt that verifies against the key of the certificate the meter presented, names this meter and
 * this execution, carries the nonce of the execution's current directive (Uptane report replay) and
 * reports exactly the manifest's images booted. Then, in one transaction: the receipt, SUCCEEDED, the
 * device's installed firmware, `ota.install-confirmed` on the audit chain and ota.device-status.v2.
 * The same receipt again answers the same; any other receipt for a finished execution is 409.
 */
@Injectable()
export class ConfirmInstallUseCase {
  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly receipts: ReceiptsRepository,
    private readonly manifests: ManifestsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly campaignFeed: CampaignStatusFeed,
  ) {}

  async execute(
    meter: AuthenticatedMeter,
    executionId: string,
    body: unknown,
    bytes: Buffer,
  ): Promise<ConfirmedInstall> {
    const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId);
    if (!execution) throw OtaDeviceErrors.executionNotFound();
    if (!signedReceipt.safeParse(body).success) throw this.refuse(meter, execution, 'RECEIPT_MALFORMED');

    const stored = await this.receipts.find(execution.execution_id);
    if (stored) {
      // A replay of the receipt that confirmed it answers the same; nothing else is taken any more.
      const again = verifyReceipt(bytes, meter.publicKey, {
        deviceId: meter.deviceId,
        executionId: execution.execution_id,
        nonce: String(stored.receipt_body.nonce),
      });
      if (again.ok && again.digest === stored.receipt_digest) {
        return { state: 'SUCCEEDED', receiptDigest: stored.receipt_digest };
      }
      throw OtaDeviceErrors.executionClosed(execution.state);
    }
    if (!isActive(execution.state)) throw OtaDeviceErrors.executionClosed(execution.state);

    const verified = verifyReceipt(bytes, meter.publicKey, {
      deviceId: meter.deviceId,
      executionId: execution.execution_id,
      // An execution no directive was issued for has no nonce: no receipt can match it.
      nonce: execution.directive_nonce ?? '',
    });
    if (!verified.ok) throw this.refuse(meter, execution, verified.code);
    const manifest = await this.manifests.find(meter.tenantId, execution.deployment.manifest_id);
    if (!manifest || !bootedManifestImages(verified.receipt, execution, manifest.components)) {
      throw this.refuse(meter, execution, 'RECEIPT_IMAGE_MISMATCH');
    }

    const now = new Date();
    return this.transactions.run(async (trx) => {
      const locked = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId, trx, true);
      if (!locked) throw OtaDeviceErrors.executionNotFound();
      const raced = await this.receipts.find(locked.execution_id, trx);
      if (raced?.receipt_digest === verified.digest)
        return { state: 'SUCCEEDED' as const, receiptDigest: verified.digest };
      if (raced || !isActive(locked.state)) throw OtaDeviceErrors.executionClosed(locked.state);
      if (locked.directive_nonce !== verified.receipt.nonce)
        throw this.refuse(meter, locked, 'RECEIPT_NONCE_MISMATCH');

      await this.receipts.insert(
        trx,
        {
          executionId: locked.execution_id,
          tenantId: meter.tenantId,
          deviceId: meter.deviceId,
          receiptDigest: verified.digest,
          receiptBody: verified.receipt,
          receiptSignature: (body as z.infer<typeof signedReceipt>).signature,
          certificateSerial: meter.serial,
        },
        now,
      );
      const campaign = await this.campaignFeed.prepare(trx, locked, 'SUCCEEDED');
      const updated = await this.executions.changeState(
        trx,
        locked.execution_id,
        { state: 'SUCCEEDED', failureCode: null, receiptSha256: verified.digest },
        now,
      );
      await this.campaignFeed.afterStatus(trx, campaign, updated, now);
      await this.receipts.recordInstalled(
        trx,
        manifest.components.map((component) => ({
          tenantId: meter.tenantId,
          deviceId: meter.deviceId,
          component: component.id,
          version: component.version,
          digest: installedDigestOf(component),
          manifestDigest: locked.deployment.manifest_digest,
          sequenceNumber: Number(locked.deployment.sequence_number),
          bootedSlot: verified.receipt.bootedSlot,
          confirmedAt: verified.receipt.confirmedAt,
          receiptDigest: verified.digest,
          executionId: locked.execution_id,
        })),
      );
      await this.audit.append(trx, meter.tenantId, [
        {
          action: 'ota.install-confirmed',
          actor: meter.deviceId,
          subject: locked.execution_id,
          outcome: 'allowed',
          detail: {
            deviceId: meter.deviceId,
            receiptDigest: verified.digest,
            manifestDigest: locked.deployment.manifest_digest,
            sequenceNumber: Number(locked.deployment.sequence_number),
            bootedSlot: verified.receipt.bootedSlot,
            certificateSerial: meter.serial,
          },
        },
      ]);
      await this.outbox.enqueue(trx, OTA_DEVICE_STATUS_V2, [
        deviceStatusEvent(updated, locked.deployment, now),
      ]);
      return { state: 'SUCCEEDED' as const, receiptDigest: verified.digest };
    });
  }

  /** A refused receipt: logged with its code (never the receipt), answered with its code. */
  private refuse(
    meter: AuthenticatedMeter,
    execution: Pick<ExecutionWithDeployment, 'execution_id'>,
    code: Parameters<typeof OtaDeviceErrors.receipt>[0],
  ) {
    this.logger.info(
      { tenantId: meter.tenantId, deviceId: meter.deviceId, executionId: execution.execution_id, code },
      'install receipt refused',
    );
    return OtaDeviceErrors.receipt(code);
  }
}

/** The receipt names the execution's manifest and exactly its components' installed images. */
function bootedManifestImages(
  receipt: Receipt,
  execution: ExecutionWithDeployment,
  components: readonly ManifestComponentRecord[],
): boolean {
  if (receipt.manifestDigest !== execution.deployment.manifest_digest) return false;
  if (receipt.sequenceNumber !== Number(execution.deployment.sequence_number)) return false;
  const booted = receipt.bootedImageDigests as Partial<Record<OtaComponentId, string>>;
  const named = Object.keys(booted).filter((id) => booted[id as OtaComponentId] !== undefined);
  if (named.length !== components.length) return false;
  return components.every((component) => booted[component.id] === installedDigestOf(component));
}
