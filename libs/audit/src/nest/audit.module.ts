import { type DynamicModule, type InjectionToken, Module } from '@nestjs/common';
import type { AuditChainDb, AuditChainTableOptions } from '../audit-chain-heads-table';
import { AuditChainRepository } from '../audit-chain.repository';
import { AuditLog, type AuditOutbox } from '../audit-log';

export interface AuditModuleOptions extends AuditChainTableOptions {
  /** Token of the service's AuditOutbox (OutboxRepository of @meterkeep/outbox, provided globally). */
  outbox: InjectionToken;
}

/**
 * A service's audit log: provides AuditLog (append to a tenant's hash chain in the caller's transaction)
 * and AuditChainRepository (the `audit_chain_heads` table of the service's own schema). Global: import
 * it once in the app module.
 */
@Module({})
export class AuditModule {
  static forRoot({ outbox, schema }: AuditModuleOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      providers: [
        { provide: AuditChainRepository, useFactory: () => new AuditChainRepository({ schema }) },
        {
          provide: AuditLog,
          useFactory: (heads: AuditChainRepository, events: AuditOutbox<AuditChainDb>) =>
            new AuditLog(heads, events),
          inject: [AuditChainRepository, outbox],
        },
      ],
      exports: [AuditLog, AuditChainRepository],
    };
  }
}
