import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { KafkaBatchContext, KafkaEventPattern } from '@meterkeep/kafka/nest';
import { StageReadingsUseCase } from './stage-readings.use-case';

/**
 * Consumes telemetry.readings.v1 (group 'privacy-release'), the release gate's input, a partition's
 * batch at a time: each slice staged in one transaction, its offsets committed once that commits. The
 * records the use case refuses (unknown key, a seal that does not open) are named: only those go to
 * the DLQ, with their reasons, and the rest of the slice is staged at once.
 */
@Controller()
export class ReadingsConsumer {
  constructor(private readonly stage: StageReadingsUseCase) {}

  @KafkaEventPattern(TELEMETRY_READINGS, { batch: true })
  async onReadings(
    @Payload() events: readonly TelemetryReadingEvent[],
    @Ctx() context: KafkaBatchContext,
  ): Promise<void> {
    const metas = context.getMetas();
    await this.stage.execute(
      events.map((event, i) => ({
        event,
        position: { partition: metas[i]!.partition, offset: Number(metas[i]!.offset) },
      })),
    );
  }
}
