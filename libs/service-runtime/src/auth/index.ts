export * from './api-key.guard';
export * from './auth.errors';
export * from './authenticated.decorator';
export * from './caller';
export * from './roles.decorator';
