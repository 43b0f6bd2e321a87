import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { KafkaEventContext, KafkaEventPattern } from '@meterkeep/kafka/nest';
import { StageReadingsUseCase } from './stage-readings.use-case';

/** Consumes telemetry.readings.v1 (group 'privacy-release'): the release gate's input. */
@Controller()
export class ReadingsConsumer {
  constructor(private readonly stage: StageReadingsUseCase) {}

  @KafkaEventPattern(TELEMETRY_READINGS)
  async onReadings(
    @Payload() event: TelemetryReadingEvent,
    @Ctx() context: KafkaEventContext,
  ): Promise<void> {
    const { partition, offset } = context.getMeta();
    await this.stage.execute(event, { partition, offset: Number(offset) });
  }
}
