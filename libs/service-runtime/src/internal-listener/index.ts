export * from './internal-caller';
export * from './internal-listener';
export * from './internal-listener.host';
export * from './internal-routing.middleware';
export * from './service-identity';
export * from './service-identity-files';
