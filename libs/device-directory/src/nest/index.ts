export * from './device-directory.module';
export * from './device-directory.options';
export * from './directory.sync';
