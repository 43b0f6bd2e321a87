import { type DynamicModule, type InjectionToken, Module } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { AuditChainDb, AuditChainTableOptions } from '../audit-chain-heads-table';
import { AuditChainRepository } from '../audit-chain.repository';
import { AuditChainVerifier } from '../audit-chain-verifier';
import { AuditLog, type AuditOutbox } from '../audit-log';

export interface AuditModuleOptions extends AuditChainTableOptions {
  /** Token of the service's AuditOutbox (OutboxRepository of @meterkeep/outbox, provided globally). */
  outbox: InjectionToken;
  /** Token of the service's database (DATABASE of @meterkeep/db/nest), read by AuditChainVerifier. */
  database: InjectionToken;
}

/**
 * A service's audit log: provides AuditLog (append to a tenant's hash chain in the caller's transaction),
 * AuditChainRepository (the `audit_chain_heads` and `audit_records` tables of the service's own schema)
 * and AuditChainVerifier (recomputes a tenant's stored chain). Global: import
 * it once in the app module.
 */
@Module({})
export class AuditModule {
  static forRoot({ outbox, database, schema }: AuditModuleOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      providers: [
        { provide: AuditChainRepository, useFactory: () => new AuditChainRepository({ schema }) },
        {
          provide: AuditChainVerifier,
          useFactory: (chains: AuditChainRepository, db: Kysely<AuditChainDb>) =>
            new AuditChainVerifier(chains, db),
          inject: [AuditChainRepository, database],
        },
        {
          provide: AuditLog,
          useFactory: (heads: AuditChainRepository, events: AuditOutbox<AuditChainDb>) =>
            new AuditLog(heads, events),
          inject: [AuditChainRepository, outbox],
        },
      ],
      exports: [AuditLog, AuditChainRepository, AuditChainVerifier],
    };
  }
}
