export * from './audit-chain';
export * from './audit-chain-heads-table';
export * from './audit-chain.repository';
export * from './audit-log';
export * from './audit-chain-verifier';
