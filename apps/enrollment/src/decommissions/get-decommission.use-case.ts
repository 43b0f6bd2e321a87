import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Caller } from '@meterkeep/service-runtime';
import type { Executor } from '../core/database';
import { type DecommissionView, toDecommissionView } from './decommission.view';
import { DecommissionErrors } from './decommissions.errors';
import { DecommissionsRepository } from './decommissions.repository';

/** The state of a meter's decommissioning saga, in the caller's tenant only. */
@Injectable()
export class GetDecommissionUseCase {
  constructor(
    private readonly decommissions: DecommissionsRepository,
    @Inject(DATABASE) private readonly db: Executor,
  ) {}

  async execute(caller: Caller, endpoint: string): Promise<DecommissionView> {
    const row = await this.decommissions.ofDevice(caller.tenantId, endpoint);
    if (!row) throw DecommissionErrors.notFound();
    return toDecommissionView(row, await this.decommissions.confirmations(this.db, row.decommission_id));
  }
}
