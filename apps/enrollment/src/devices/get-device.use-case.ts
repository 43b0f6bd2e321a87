import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { toDeviceView } from './device.view';
import { DeviceErrors } from './devices.errors';
import type { DeviceView } from './devices.schemas';
import { DevicesRepository } from './devices.repository';

/** One of the tenant's devices; another tenant's answers exactly as a device that does not exist. */
@Injectable()
export class GetDeviceUseCase {
  constructor(private readonly devices: DevicesRepository) {}

  async execute(caller: Caller, endpoint: string): Promise<DeviceView> {
    const device = await this.devices.findForTenant(caller.tenantId, endpoint);
    if (!device) throw DeviceErrors.notFound();
    return toDeviceView(device);
  }
}
