import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { DeviceGateways } from './device-gateways';
import type { DeviceView } from './devices.schemas';

/** Takes a meter's gateway away: from then on only the meter itself may post its readings. */
@Injectable()
export class UnassignGatewayUseCase {
  constructor(private readonly gateways: DeviceGateways) {}

  execute(caller: Caller, endpoint: string): Promise<DeviceView> {
    return this.gateways.set(caller, endpoint, null);
  }
}
