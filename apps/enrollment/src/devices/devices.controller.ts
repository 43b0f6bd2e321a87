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
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ClaimDeviceUseCase } from './claim-device.use-case';
import { DEVICE_STATES } from './device-state-machine';
import {
  type AssignGatewayRequest,
  AssignGatewayRequestSchema,
  ClaimDeviceRequestSchema,
  type ClaimDeviceRequest,
  EndpointParam,
  ListDevicesQuerySchema,
  type ListDevicesQuery,
} from './devices.schemas';
import { GetDeviceUseCase } from './get-device.use-case';
import { ListDevicesUseCase } from './list-devices.use-case';
import { SetDeviceGatewayUseCase } from './set-device-gateway.use-case';
import { TransitionDeviceUseCase } from './transition-device.use-case';

const endpointPipe = new ZodPipe(EndpointParam, 'endpoint name');
const notFound = errorResponse(
  "DEVICE_NOT_FOUND: no such device in this tenant (another tenant's answers the same)",
);
const invalidTransition = errorResponse(
  'INVALID_TRANSITION: the lifecycle does not allow this from the current state',
);

@ApiTags('Devices')
@Authenticated()
@Controller('v1/devices')
export class DevicesController {
  constructor(
    private readonly listDevices: ListDevicesUseCase,
    private readonly getDevice: GetDeviceUseCase,
    private readonly claimDevice: ClaimDeviceUseCase,
    private readonly transitionDevice: TransitionDeviceUseCase,
    private readonly setDeviceGateway: SetDeviceGatewayUseCase,
  ) {}

  @Get()
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: "The tenant's devices in endpoint-name order, a page at a time" })
  @ApiQuery({ name: 'state', required: false, enum: DEVICE_STATES })
  @ApiQuery({ name: 'model', required: false })
  @ApiQuery({ name: 'batchId', required: false })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ schema: ref('DevicePage') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST, INVALID_CURSOR'))
  list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(ListDevicesQuerySchema, 'query')) query: ListDevicesQuery,
  ) {
    return this.listDevices.execute(caller, query);
  }

  @Get(':endpoint')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: 'One device of the registry' })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiNotFoundResponse(notFound)
  get(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.getDevice.execute(caller, endpoint);
  }

  @Post(':endpoint/claim')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Claim one meter for this tenant (ENROLLED), optionally until claimExpiresAt' })
  @ApiBody({ schema: ref('ClaimDeviceRequest') })
  @ApiOkResponse({ schema: ref('ClaimResult') })
  @ApiBadRequestResponse(errorResponse('INVALID_CLAIM, INVALID_REQUEST'))
  @ApiConflictResponse(
    errorResponse('DEVICE_ENROLLMENT_LOCKED, PSK_IDENTITY_IN_USE (both about this tenant only)'),
  )
  claim(
    @CurrentCaller() caller: Caller,
    @Param('endpoint', endpointPipe) endpoint: string,
    @Body(new ZodPipe(ClaimDeviceRequestSchema)) body: ClaimDeviceRequest,
  ) {
    return this.claimDevice.execute(caller, endpoint, body);
  }

  @Post(':endpoint/suspend')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'ACTIVE → SUSPENDED' })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(invalidTransition)
  suspend(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.transitionDevice.execute(caller, endpoint, 'suspend');
  }

  @Post(':endpoint/resume')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'SUSPENDED → ACTIVE' })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(invalidTransition)
  resume(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.transitionDevice.execute(caller, endpoint, 'resume');
  }

  @Post(':endpoint/decommission')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'ACTIVE | SUSPENDED → DECOMMISSIONED (final; a PSK is destroyed)' })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(invalidTransition)
  decommission(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.transitionDevice.execute(caller, endpoint, 'decommission');
  }

  @Put(':endpoint/gateway')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({
    summary: "Name the gateway (data concentrator) allowed to post this meter's readings",
    description: 'The gateway is another device of this tenant, not decommissioned.',
  })
  @ApiBody({ schema: ref('AssignGatewayRequest') })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST'))
  @ApiNotFoundResponse(
    errorResponse("DEVICE_NOT_FOUND, GATEWAY_NOT_FOUND (another tenant's device answers the same)"),
  )
  @ApiUnprocessableEntityResponse(
    errorResponse('GATEWAY_IS_SELF, GATEWAY_DECOMMISSIONED: that device cannot be this meter’s gateway'),
  )
  setGateway(
    @CurrentCaller() caller: Caller,
    @Param('endpoint', endpointPipe) endpoint: string,
    @Body(new ZodPipe(AssignGatewayRequestSchema)) body: AssignGatewayRequest,
  ) {
    return this.setDeviceGateway.execute(caller, endpoint, body.gatewayId);
  }

  @Delete(':endpoint/gateway')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: "Take the meter's gateway away (only the meter may then post its readings)" })
  @ApiOkResponse({ schema: ref('Device') })
  @ApiNotFoundResponse(notFound)
  removeGateway(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.setDeviceGateway.execute(caller, endpoint, null);
  }
}
