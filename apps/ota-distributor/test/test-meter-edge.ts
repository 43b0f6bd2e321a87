// Test-only: stands in for h2-edge's mutual-TLS device listener. A request naming a registered meter in
// `x-test-meter` is treated as authenticated as that meter (request[AUTHENTICATED_METER]), exactly
// what the real edge sets after verifying the operational certificate. Never registered in src/.
import { type KeyObject, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AUTHENTICATED_METER, type AuthenticatedMeter } from '../src/device-api/authenticated-meter';
import { readDeviceBody } from '../src/device-api/device-edge';

export const TEST_METER_HEADER = 'x-test-meter';

/** A meter whose operational key pair the test holds. */
export interface TestMeter extends AuthenticatedMeter {
  readonly privateKey: KeyObject;
  /** What `x-test-meter` carries for it. */
  readonly handle: string;
}

export class TestMeters {
  private readonly meters = new Map<string, TestMeter>();

  /** A new meter of a tenant with a fresh P-256 key pair (its "operational certificate"). */
  add(tenantId: string, deviceId: string): TestMeter {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const meter: TestMeter = {
      tenantId,
      deviceId,
      serial: randomBytes(8).toString('hex'),
      publicKey,
      privateKey,
      handle: `${tenantId}/${deviceId}/${randomBytes(4).toString('hex')}`,
    };
    this.meters.set(meter.handle, meter);
    return meter;
  }

  get(handle: string): TestMeter | undefined {
    return this.meters.get(handle);
  }
}

export function testMeterEdge(meters: TestMeters) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const handle = request.headers[TEST_METER_HEADER];
    const meter = typeof handle === 'string' ? meters.get(handle) : undefined;
    if (meter) {
      const authenticated: AuthenticatedMeter = {
        tenantId: meter.tenantId,
        deviceId: meter.deviceId,
        serial: meter.serial,
        publicKey: meter.publicKey,
      };
      (request as unknown as Record<symbol, unknown>)[AUTHENTICATED_METER] = authenticated;
      // The real edge's body reader, as the real edge runs it after authentication.
      return readDeviceBody(request, response, next);
    }
    next();
  };
}
