export * from './firmware-delta';
export * from './firmware-delta.errors';
export * from './image-encoding';
export { HARD_MAX_IMAGE_BYTES, type DecodeLimits } from './limits';
export type { EncodeOptions } from './zstd-codec';
export { readZstdFrame, type ZstdFrameInfo } from './zstd-frame';
