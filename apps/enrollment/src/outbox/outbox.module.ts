import { Global, Module } from '@nestjs/common';
import { OutboxNudge, OutboxRelay } from './outbox-relay';
import { OutboxRepository } from './outbox.repository';
import { Transactions } from './transactions';

@Global()
@Module({
  providers: [
    OutboxRepository,
    OutboxRelay,
    { provide: OutboxNudge, useExisting: OutboxRelay },
    Transactions,
  ],
  exports: [OutboxRepository, OutboxRelay, Transactions],
})
export class OutboxModule {}
