import { Transactions as OutboxTransactions } from '@meterkeep/outbox';
import type { OtaDb } from '../core/database';

/**
 * The unit of work of a use case (@meterkeep/outbox), typed for ota-distributor's database: state changes and
 * their outbox events commit together, then the relay is nudged.
 */
export const Transactions = OutboxTransactions;
export type Transactions = OutboxTransactions<OtaDb>;
