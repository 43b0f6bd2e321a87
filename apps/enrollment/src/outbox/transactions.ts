import { Transactions as OutboxTransactions } from '@meterkeep/outbox';
import type { EnrollmentDb } from '../core/database';

/**
 * The unit of work of a use case (@meterkeep/outbox), typed for enrollment's database: state changes
 * and their outbox events commit together, then the relay is nudged.
 */
export const Transactions = OutboxTransactions;
export type Transactions = OutboxTransactions<EnrollmentDb>;
