export * from './tags.js';
export * from './encode.js';
export * from './decode.js';
