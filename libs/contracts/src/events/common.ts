import { z } from 'zod';

/** A meter's endpoint name, as in its factory certificate's CN. */
export const endpointName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'endpoint name');
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
export const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');

/** Record key for per-device topics: ordering is per tenant and device. */
export const deviceKey = (event: { tenantId: string; deviceId: string }) =>
  `${event.tenantId}/${event.deviceId}`;
