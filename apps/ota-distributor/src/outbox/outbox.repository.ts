export { type OutboxRecord, OutboxRepository } from '@meterkeep/outbox';
