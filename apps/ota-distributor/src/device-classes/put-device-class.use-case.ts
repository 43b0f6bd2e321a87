import { Inject, Injectable } from '@nestjs/common';
import type { DeviceClassUpsert, DeviceClassView } from '@meterkeep/contracts';
import { CONFIG, type Caller } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import { deviceClassView } from './device-class.view';
import { DeviceClassErrors } from './device-classes.errors';
import { DeviceClassesRepository } from './device-classes.repository';

/**
 * Declares a device class of the caller's tenant, or changes its image cap. The vendor is fixed once
 * declared (meters carry it from the factory; manifests name it). Without a cap: OTA_MAX_IMAGE_BYTES.
 */
@Injectable()
export class PutDeviceClassUseCase {
  constructor(
    private readonly classes: DeviceClassesRepository,
    @Inject(CONFIG) private readonly config: Pick<OtaDistributorConfig, 'OTA_MAX_IMAGE_BYTES'>,
  ) {}

  async execute(caller: Caller, classId: string, body: DeviceClassUpsert): Promise<DeviceClassView> {
    const row = await this.classes.upsert(
      {
        tenantId: caller.tenantId,
        classId,
        vendorId: body.vendorId,
        maxImageBytes: body.maxImageBytes ?? this.config.OTA_MAX_IMAGE_BYTES,
      },
      new Date(),
    );
    if (row.vendor_id !== body.vendorId) throw DeviceClassErrors.vendorMismatch(classId, row.vendor_id);
    return deviceClassView(row);
  }
}
