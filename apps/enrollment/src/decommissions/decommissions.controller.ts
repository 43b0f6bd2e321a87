import {
  ANY_ROLE,
  Authenticated,
  type Caller,
  CurrentCaller,
  Roles,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EndpointParam } from '../devices/devices.schemas';
import './decommissions.schemas'; // registers the Decommission component
import { GetDecommissionUseCase } from './get-decommission.use-case';

const endpointPipe = new ZodPipe(EndpointParam, 'endpoint name');

@ApiTags('Devices')
@Authenticated()
@Controller('v1/devices')
export class DecommissionsController {
  constructor(private readonly getDecommission: GetDecommissionUseCase) {}

  @Get(':endpoint/decommission')
  @Roles(...ANY_ROLE)
  @ApiOperation({
    summary: "The meter's decommissioning: each service's step, and the signed record once all are done",
  })
  @ApiOkResponse({ schema: ref('Decommission') })
  @ApiNotFoundResponse(
    errorResponse("DECOMMISSION_NOT_FOUND: never decommissioned, or another tenant's device (same answer)"),
  )
  get(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.getDecommission.execute(caller, endpoint);
  }
}
