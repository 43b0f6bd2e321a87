import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { DeviceGateways } from './device-gateways';
import type { DeviceView } from './devices.schemas';

/** Names the gateway (data concentrator) allowed to post a meter's readings: another device of the tenant. */
@Injectable()
export class AssignGatewayUseCase {
  constructor(private readonly gateways: DeviceGateways) {}

  execute(caller: Caller, endpoint: string, gatewayId: string): Promise<DeviceView> {
    return this.gateways.set(caller, endpoint, gatewayId);
  }
}
