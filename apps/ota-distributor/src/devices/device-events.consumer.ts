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
 * Consumes enrollment.devices.v1 and device.lifecycle.v1 (group 'ota-distributor') a partition's
 * batch at a time, each slice in one transaction (a catch-up of 200,000 events is not 200,000
 * transactions); records that fail their schema go to the topic's DLQ with the reason (the
 * consumer's rule), never retried.
 */
@Controller()
export class DeviceEventsConsumer {
  constructor(private readonly applyState: ApplyDeviceStateUseCase) {}

  @KafkaEventPattern(ENROLLMENT_DEVICES, { batch: true })
  async onEnrollmentDevices(@Payload() events: EnrollmentDeviceEvent[]): Promise<void> {
    await this.applyState.fromEnrollment(events);
  }

  @KafkaEventPattern(DEVICE_LIFECYCLE, { batch: true })
  async onLifecycle(@Payload() events: DeviceLifecycleEvent[]): Promise<void> {
    await this.applyState.fromLifecycle(events);
  }
}
