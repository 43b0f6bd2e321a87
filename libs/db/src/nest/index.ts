export * from './db.module';
export * from './db.tokens';
