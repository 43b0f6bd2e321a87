import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { toDeviceView } from './device.view';
import { DeviceErrors } from './devices.errors';
import type { DevicePage, ListDevicesQuery } from './devices.schemas';
import { DevicesRepository } from './devices.repository';

/** The opaque cursor: the last endpoint name of the page, base64url. */
export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const after = (value as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && after.length > 0) return after;
  } catch {
    // falls through to the refusal
  }
  throw DeviceErrors.invalidCursor();
}

/** The tenant's devices in endpoint-name order, filtered, a page at a time (keyset pagination). */
@Injectable()
export class ListDevicesUseCase {
  constructor(private readonly devices: DevicesRepository) {}

  async execute(caller: Caller, query: ListDevicesQuery): Promise<DevicePage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.devices.listPage(caller.tenantId, query, after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(toDeviceView),
      nextCursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.endpoint_name) : null,
    };
  }
}
