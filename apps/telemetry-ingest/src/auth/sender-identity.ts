import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import { DeviceIdentities, type DeviceSender, isDeviceRefusal } from '@meterkeep/device-directory';
import { verdictRefusal } from '../ingest/ingest.errors';

/**
 * The sender of a connection, its certificate verified once per connection against the tenants'
 * issuing CAs (DeviceIdentities, shared with the other device edges); a refusal is thrown as the
 * ingest's error. Whether an accepted certificate is still current is asked per request.
 */
@Injectable()
export class SenderIdentity {
  constructor(private readonly identities: DeviceIdentities) {}

  of(socket: Socket, now = new Date()): DeviceSender {
    const verdict = this.identities.of(socket, now);
    if (isDeviceRefusal(verdict)) throw verdictRefusal(verdict);
    return verdict;
  }
}
