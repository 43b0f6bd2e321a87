import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DEVICE_LIFECYCLE, type DeviceLifecycleEvent } from '@meterkeep/contracts';
import { KafkaEventPattern } from '@meterkeep/kafka/nest';
import { RecordDeviceBootstrapUseCase } from './record-device-bootstrap.use-case';

/** Consumes device.lifecycle.v1 (group 'enrollment'): bootstrap's events move meters to ACTIVE. */
@Controller()
export class DeviceLifecycleConsumer {
  constructor(private readonly recordBootstrap: RecordDeviceBootstrapUseCase) {}

  @KafkaEventPattern(DEVICE_LIFECYCLE)
  async onLifecycleEvent(@Payload() event: DeviceLifecycleEvent): Promise<void> {
    await this.recordBootstrap.execute(event);
  }
}
