import { Body, Controller, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  type NetworkCellPut,
  PRIVACY_NETWORK_CELL_GET,
  PRIVACY_NETWORK_CELL_PUT,
  networkCellId,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  WRITERS,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { NetworkCellsRepository } from './network-cells.repository';
import { NetworkCellErrors, SetNetworkCellUseCase, toNetworkCellView } from './set-network-cell.use-case';

const cellIdPipe = new ZodPipe(networkCellId, 'cell id');

/** The tenant's network cells (routes of libs/contracts): writers set them, every role reads. */
@ApiTags('Network cells')
@AuthenticatedByEnrollment()
@Controller()
export class NetworkCellsController {
  constructor(
    private readonly setCell: SetNetworkCellUseCase,
    private readonly cells: NetworkCellsRepository,
  ) {}

  @ContractRoute(PRIVACY_NETWORK_CELL_PUT)
  @Roles(...WRITERS)
  put(
    @CurrentCaller() caller: Caller,
    @Param('cellId', cellIdPipe) cellId: string,
    @Body(new ZodPipe(PRIVACY_NETWORK_CELL_PUT.request)) body: NetworkCellPut,
  ) {
    return this.setCell.execute(caller, cellId, body);
  }

  @ContractRoute(PRIVACY_NETWORK_CELL_GET)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('cellId', cellIdPipe) cellId: string) {
    const rows = await this.cells.members(caller.tenantId, cellId);
    if (rows.length === 0) throw NetworkCellErrors.notFound();
    return toNetworkCellView(cellId, rows);
  }
}
