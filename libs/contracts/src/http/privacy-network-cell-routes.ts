import { z } from 'zod';
import { endpointName } from '../events/common';
import { networkCellId } from '../events/telemetry-released-aggregate.event';
import { defineHttpRoute, httpError } from './http-route';

/**
 * A tenant's network cells: which meters each feeder or secondary substation supplies. The release gate
 * gives network operators only cell totals (telemetry.released-aggregates.v1), so cells are electrical
 * topology the utility knows from its network model, not the meters' communications (a gateway or hub
 * groups meters by radio reach, which says nothing about the load on a feeder).
 */
export const NETWORK_CELL_MAX_METERS = 5_000;

export const networkCellKind = z.enum(['feeder', 'substation']);

export const networkCellPut = z.strictObject({
  kind: networkCellKind,
  /** The cell's whole membership: meters listed in another cell move here; those left out leave it. */
  meterIds: z
    .array(endpointName)
    .min(1)
    .max(NETWORK_CELL_MAX_METERS)
    .refine((ids) => new Set(ids).size === ids.length, 'meterIds: each meter once'),
});
export type NetworkCellPut = z.infer<typeof networkCellPut>;

export const networkCellView = z.object({
  cellId: networkCellId,
  kind: networkCellKind,
  meterIds: z.array(endpointName),
  updatedAt: z.iso.datetime({ offset: true }),
  updatedBy: z.string(),
});
export type NetworkCellView = z.infer<typeof networkCellView>;

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');
const params = { cellId: networkCellId };
const exampleView = {
  cellId: 'feeder-SS0412-F3',
  kind: 'feeder' as const,
  meterIds: ['MTR-000001', 'MTR-000002'],
  updatedAt: '2026-12-03T10:00:00.000Z',
  updatedBy: 'key_2f9a',
};

export const PRIVACY_NETWORK_CELL_PUT = defineHttpRoute({
  name: 'privacy.network-cell.put',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/network-cells/:cellId',
  params,
  summary: 'Set the meters a feeder or substation supplies (admin or operator; audited)',
  description:
    "Replaces the cell's membership; a meter is in one cell at most, so one listed here leaves its old " +
    "cell. Network operators receive each cell's half-hourly totals only when it holds enough meters " +
    'and none dominates it (PRIVACY_NETWORK_MIN_METERS, PRIVACY_NETWORK_MAX_SHARE).',
  request: networkCellPut,
  responses: {
    200: networkCellView,
    400: httpError('INVALID_REQUEST: the body or the cell id breaks the contract'),
    401: unauthenticated,
    403: httpError("FORBIDDEN: the API key's role may not do this (admin or operator)"),
  },
  examples: [
    {
      title: 'a feeder of two meters',
      params: { cellId: exampleView.cellId },
      request: { kind: 'feeder', meterIds: exampleView.meterIds },
      status: 200,
      response: exampleView,
    },
  ],
});

export const PRIVACY_NETWORK_CELL_GET = defineHttpRoute({
  name: 'privacy.network-cell.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/network-cells/:cellId',
  params,
  summary: 'The meters a feeder or substation supplies',
  responses: {
    200: networkCellView,
    400: httpError('INVALID_REQUEST: not a cell id'),
    401: unauthenticated,
    404: httpError('NETWORK_CELL_NOT_FOUND: no meter in this cell in this tenant'),
  },
  examples: [
    { title: 'a feeder', params: { cellId: exampleView.cellId }, status: 200, response: exampleView },
  ],
});

export const PRIVACY_NETWORK_CELL_ROUTES = [PRIVACY_NETWORK_CELL_PUT, PRIVACY_NETWORK_CELL_GET] as const;
