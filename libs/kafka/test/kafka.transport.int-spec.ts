import 'reflect-metadata';
import { DLQ_HEADERS, deadLetterTopicName } from '@meterkeep/contracts';
import type { HealthProbe } from '@meterkeep/observability';
import { Controller, type INestMicroservice, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { Kafka } from 'kafkajs';
import { type Observable, delay, of, tap } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventConsumer, type EventMeta, EventProducer, PermanentEventError } from '../src';
import {
  KAFKA_CLIENT,
  KAFKA_HEALTH_PROBE,
  KafkaEventContext,
  KafkaEventPattern,
  KafkaModule,
  KafkaTransport,
} from '../src/nest';
import {
  type MeterReading,
  fastConsumer,
  meterContract,
  meterReading,
  readTopic,
  testLogger,
  uniqueGroupId,
  stackEndpoints,
  waitUntil,
} from './kafka-test-kit';

// Decorators read the topic names when the class is defined, so the contracts exist first.
const readings = meterContract('nest-readings', 2);
const audits = meterContract('nest-audits');
const SEEN = Symbol('SEEN');
type Seen = { topic: string; event: MeterReading; meta: EventMeta }[];

@Controller()
class ReadingsController {
  constructor(@Inject(SEEN) private readonly seen: Seen) {}

  @KafkaEventPattern(readings)
  async onReading(@Payload() event: MeterReading, @Ctx() ctx: KafkaEventContext): Promise<void> {
    await Promise.resolve();
    if (event.meterId === 'meter-retired')
      throw new PermanentEventError(`meter ${event.meterId} is decommissioned`);
    this.seen.push({ topic: readings.name, event, meta: ctx.getMeta() });
  }

  // Plain @EventPattern, returning an Observable: it only runs if the transport subscribes to it.
  @EventPattern(audits.name)
  onAudit(@Payload() event: MeterReading, @Ctx() ctx: KafkaEventContext): Observable<unknown> {
    return of(event).pipe(
      delay(20),
      tap(() => this.seen.push({ topic: audits.name, event, meta: ctx.getMeta() })),
    );
  }
}

const seen: Seen = [];

@Module({
  imports: [
    KafkaModule.forRoot({
      clientId: 'it-nest',
      ...stackEndpoints().kafka,
      logger: testLogger,
      contracts: [readings, audits],
      ensureTopics: { deadLetter: true },
    }),
  ],
  controllers: [ReadingsController],
  providers: [{ provide: SEEN, useValue: seen }],
})
class ReadingsModule {}

describe('KafkaTransport and KafkaModule in a Nest microservice', () => {
  let app: INestMicroservice;
  let transport: KafkaTransport;

  beforeAll(async () => {
    transport = new KafkaTransport({
      kafka: { clientId: 'it-nest-consumer', ...stackEndpoints().kafka },
      groupId: uniqueGroupId('nest'),
      contracts: [readings, audits],
      logger: testLogger,
      ...fastConsumer,
    });
    app = await NestFactory.createMicroservice(ReadingsModule, { strategy: transport, logger: false });
    await app.listen();
  });
  // Closing twice is harmless; this one covers a failure before the last test.
  afterAll(() => app.close());

  it('hands each @EventPattern handler its validated event and the record metadata', async () => {
    const producer = app.get(EventProducer);
    expect(producer.connected).toBe(true);
    const reading = meterReading(1);
    const audit = meterReading(2);
    await producer.publish(readings, reading);
    await producer.publish(audits, audit);

    await waitUntil(() => seen.length >= 2, { description: 'both handlers to run' });
    expect(seen.find((s) => s.topic === readings.name)?.event).toEqual(reading);
    expect(seen.find((s) => s.topic === audits.name)?.event).toEqual(audit);
    expect(seen.find((s) => s.topic === readings.name)?.meta).toMatchObject({
      topic: readings.name,
      key: `${reading.tenantId}/${reading.meterId}`,
      attempt: 1,
    });
  });

  it('dead-letters a PermanentEventError thrown by a Nest handler', async () => {
    const retired = meterReading(3, 'meter-retired');
    await app.get(EventProducer).publish(readings, retired);
    const [dead] = await readTopic(app.get<Kafka>(KAFKA_CLIENT), deadLetterTopicName(readings.name), 1);
    expect(JSON.parse(dead?.value ?? '')).toEqual(retired);
    expect(dead?.headers[DLQ_HEADERS.reason]).toBe(
      'permanent-error: PermanentEventError: meter meter-retired is decommissioned',
    );
  });

  it('exposes the health probe under its token', async () => {
    await expect(app.get<HealthProbe>(KAFKA_HEALTH_PROBE).check()).resolves.toBeUndefined();
  });

  it('drains the consumer and disconnects the producer on close()', async () => {
    const consumer = transport.unwrap<EventConsumer>();
    expect(consumer.running).toBe(true);
    const producer = app.get(EventProducer);
    await app.close();
    expect(consumer.state).toBe('stopped');
    expect(producer.connected).toBe(false);
  });
});
