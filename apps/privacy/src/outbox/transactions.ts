import { Transactions as OutboxTransactions } from '@meterkeep/outbox';
import type { PrivacyDb } from '../core/database';

/**
 * The unit of work of a use case (@meterkeep/outbox), typed for privacy's database: state changes and
 * their outbox events commit together, then the relay is nudged.
 */
export const Transactions = OutboxTransactions;
export type Transactions = OutboxTransactions<PrivacyDb>;
