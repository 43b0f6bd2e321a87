import { Body, Controller, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  PRIVACY_RETENTION_SCHEDULES_LIST,
  PRIVACY_RETENTION_SCHEDULE_GET,
  PRIVACY_RETENTION_SCHEDULE_PUT,
  type RetentionSchedulePut,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { RetentionErrors } from './retention.errors';
import { toRetentionScheduleView } from './retention-schedule.view';
import { RetentionSchedulesRepository } from './retention-schedules.repository';
import { SetRetentionScheduleUseCase } from './set-retention-schedule.use-case';

const purposePipe = new ZodPipe(PRIVACY_RETENTION_SCHEDULE_PUT.params.purpose, 'purpose');

/** A tenant admin sets retention periods per purpose (routes of libs/contracts); every role reads. */
@ApiTags('Retention schedules')
@AuthenticatedByEnrollment()
@Controller()
export class RetentionSchedulesController {
  constructor(
    private readonly setSchedule: SetRetentionScheduleUseCase,
    private readonly schedules: RetentionSchedulesRepository,
  ) {}

  @ContractRoute(PRIVACY_RETENTION_SCHEDULE_PUT)
  @Roles('admin')
  put(
    @CurrentCaller() caller: Caller,
    @Param('purpose', purposePipe) purpose: string,
    @Body(new ZodPipe(PRIVACY_RETENTION_SCHEDULE_PUT.request)) body: RetentionSchedulePut,
  ) {
    return this.setSchedule.execute(caller, purpose, body);
  }

  @ContractRoute(PRIVACY_RETENTION_SCHEDULE_GET)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('purpose', purposePipe) purpose: string) {
    const row = await this.schedules.find(caller.tenantId, purpose);
    if (!row) throw RetentionErrors.scheduleNotFound(purpose);
    return toRetentionScheduleView(row);
  }

  @ContractRoute(PRIVACY_RETENTION_SCHEDULES_LIST)
  @Roles(...ANY_ROLE)
  async list(@CurrentCaller() caller: Caller) {
    return { items: (await this.schedules.list(caller.tenantId)).map(toRetentionScheduleView) };
  }
}
