import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DEVICE_LIFECYCLE, type DeviceLifecycleEvent } from '@meterkeep/contracts';
import { KafkaEventPattern } from '@meterkeep/kafka/nest';
import { RevokeDeviceCertificatesUseCase } from './revoke-device-certificates.use-case';

/** Consumes device.lifecycle.v1 (group 'bootstrap'): suspending or decommissioning revokes certificates. */
@Controller()
export class DeviceLifecycleConsumer {
  constructor(private readonly revoke: RevokeDeviceCertificatesUseCase) {}

  @KafkaEventPattern(DEVICE_LIFECYCLE)
  async onLifecycleEvent(@Payload() event: DeviceLifecycleEvent): Promise<void> {
    await this.revoke.execute(event);
  }
}
