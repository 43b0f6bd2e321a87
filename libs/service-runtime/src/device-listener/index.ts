export * from './listener-routing.middleware';
export * from './mutual-tls-listener';
export * from './peer-chain';
export * from './device-edge';
export * from './proxy-protocol';
export * from './server-credentials';
export * from './device-listener';
