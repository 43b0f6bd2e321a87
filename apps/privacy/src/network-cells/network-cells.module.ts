import { Module } from '@nestjs/common';
import { NetworkCellsController } from './network-cells.controller';
import { NetworkCellsRepository } from './network-cells.repository';
import { SetNetworkCellUseCase } from './set-network-cell.use-case';

/** Which meters each feeder or substation supplies: the cells network operators' aggregates are cut by. */
@Module({
  controllers: [NetworkCellsController],
  providers: [NetworkCellsRepository, SetNetworkCellUseCase],
})
export class NetworkCellsModule {}
