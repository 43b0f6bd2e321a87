import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  DEVICE_LIFECYCLE,
  type DeviceLifecycleEvent,
  ENROLLMENT_DEVICES,
  type EnrollmentDeviceEvent,
} from '@meterkeep/contracts';
import { KafkaEventPattern } from '@meterkeep/kafka/nest';
import { ApplyDeviceStateUseCase } from './apply-device-state.use-case';

/**
 * Consumes enrollment.devices.v1 and device.lifecycle.v1 (group 'ota-distributor'); records that fail
 * their schema go to the topic's DLQ with the reason (the consumer's rule), never retried.
 */
@Controller()
export class DeviceEventsConsumer {
  constructor(private readonly applyState: ApplyDeviceStateUseCase) {}

  @KafkaEventPattern(ENROLLMENT_DEVICES)
  async onEnrollmentDevice(@Payload() event: EnrollmentDeviceEvent): Promise<void> {
    await this.applyState.fromEnrollment(event);
  }

  @KafkaEventPattern(DEVICE_LIFECYCLE)
  async onLifecycle(@Payload() event: DeviceLifecycleEvent): Promise<void> {
    await this.applyState.fromLifecycle(event);
  }
}
