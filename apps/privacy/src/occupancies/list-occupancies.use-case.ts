import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { OccupancyErrors } from './occupancies.errors';
import type { ListOccupanciesQuery, OccupancyPage } from './occupancies.schemas';
import { OccupanciesRepository, type OccupancyPosition } from './occupancies.repository';
import { toOccupancyView } from './occupancy.view';

/** The opaque cursor: the (from, occupancyId) of the page's last item, base64url. */
export function encodeCursor(after: OccupancyPosition): string {
  return Buffer.from(
    JSON.stringify({ from: after.from.toISOString(), id: after.occupancyId }),
    'utf8',
  ).toString('base64url');
}

export function decodeCursor(cursor: string): OccupancyPosition {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      from?: unknown;
      id?: unknown;
    } | null;
    const from = typeof value?.from === 'string' ? new Date(value.from) : undefined;
    if (from && !Number.isNaN(from.getTime()) && typeof value?.id === 'string' && value.id.length > 0)
      return { from, occupancyId: value.id };
  } catch {
    // falls through to the refusal
  }
  throw OccupancyErrors.invalidCursor();
}

/** The tenant's occupancies (optionally one meter's) in start order, a page at a time (keyset pagination). */
@Injectable()
export class ListOccupanciesUseCase {
  constructor(private readonly occupancies: OccupanciesRepository) {}

  async execute(caller: Caller, query: ListOccupanciesQuery): Promise<OccupancyPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.occupancies.listPage(caller.tenantId, query.meterId, after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(toOccupancyView),
      nextCursor:
        rows.length > query.limit && last
          ? encodeCursor({ from: last.valid_from, occupancyId: last.occupancy_id })
          : null,
    };
  }
}
