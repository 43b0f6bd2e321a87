import { Injectable } from '@nestjs/common';
import type { NetworkCellPut, NetworkCellView } from '@meterkeep/contracts';
import { type Caller, DomainError } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { type NetworkCellMemberRow, NetworkCellsRepository } from './network-cells.repository';

export function toNetworkCellView(cellId: string, rows: readonly NetworkCellMemberRow[]): NetworkCellView {
  const latest = rows.reduce((a, b) => (b.assigned_at > a.assigned_at ? b : a));
  return {
    cellId,
    kind: latest.cell_kind,
    meterIds: rows.map((r) => r.meter_id),
    updatedAt: latest.assigned_at.toISOString(),
    updatedBy: latest.assigned_by,
  };
}

export const NetworkCellErrors = {
  notFound: () => new DomainError('not-found', 'NETWORK_CELL_NOT_FOUND', 'No meter in this cell'),
} as const;

/**
 * Sets the meters a feeder or substation supplies, in one transaction with its audit record (counts,
 * never the meter list: the chain stays small). Windows already decided stay as they were; the next
 * ones are cut with the new membership.
 */
@Injectable()
export class SetNetworkCellUseCase {
  constructor(
    private readonly cells: NetworkCellsRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, cellId: string, body: NetworkCellPut): Promise<NetworkCellView> {
    return this.transactions.run(async (trx) => {
      const now = new Date();
      const { removed, moved } = await this.cells.replace(
        trx,
        caller.tenantId,
        cellId,
        body.kind,
        body.meterIds,
        caller.actor,
        now,
      );
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'privacy.network-cell-set',
          actor: caller.actor,
          subject: cellId,
          outcome: 'allowed',
          detail: { kind: body.kind, meters: body.meterIds.length, removed, movedFromOtherCells: moved },
        },
      ]);
      return toNetworkCellView(cellId, await this.cells.members(caller.tenantId, cellId, trx));
    });
  }
}
