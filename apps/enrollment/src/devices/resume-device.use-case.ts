import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { DeviceTransitions } from './device-transitions';
import type { DeviceView } from './devices.schemas';

/** SUSPENDED → ACTIVE. */
@Injectable()
export class ResumeDeviceUseCase {
  constructor(private readonly transitions: DeviceTransitions) {}

  execute(caller: Caller, endpoint: string): Promise<DeviceView> {
    return this.transitions.apply(caller, endpoint, 'resume');
  }
}
