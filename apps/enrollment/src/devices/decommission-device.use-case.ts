import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { DeviceTransitions } from './device-transitions';
import type { DeviceView } from './devices.schemas';

/** ACTIVE | SUSPENDED → DECOMMISSIONED, for good: its PSK, if any, is destroyed. */
@Injectable()
export class DecommissionDeviceUseCase {
  constructor(private readonly transitions: DeviceTransitions) {}

  execute(caller: Caller, endpoint: string): Promise<DeviceView> {
    return this.transitions.apply(caller, endpoint, 'decommission');
  }
}
