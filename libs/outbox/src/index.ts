export * from './outbox-relay';
export * from './outbox-table';
export * from './outbox.repository';
export * from './transactions';
export * from './outbox-backlog';
