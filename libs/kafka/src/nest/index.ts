export * from './kafka-event-error.filter';
export * from './kafka-event-pattern.decorator';
export * from './kafka-event.context';
export * from './kafka.module';
export * from './kafka.transport';
