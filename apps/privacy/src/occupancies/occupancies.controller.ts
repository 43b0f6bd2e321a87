import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  ANY_ROLE,
  type Caller,
  CurrentCaller,
  Roles,
  WRITERS,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { CloseOccupancyUseCase } from './close-occupancy.use-case';
import { GetOccupancyUseCase } from './get-occupancy.use-case';
import { ListOccupanciesUseCase } from './list-occupancies.use-case';
import {
  type CloseOccupancyRequest,
  CloseOccupancyRequestSchema,
  type ListOccupanciesQuery,
  ListOccupanciesQuerySchema,
  OccupancyIdParam,
  type OpenOccupancyRequest,
  OpenOccupancyRequestSchema,
} from './occupancies.schemas';
import { OpenOccupancyUseCase } from './open-occupancy.use-case';

const occupancyIdPipe = new ZodPipe(OccupancyIdParam, 'occupancy id');
const notFound = errorResponse(
  "OCCUPANCY_NOT_FOUND: no such occupancy in this tenant (another tenant's answers the same)",
);

@ApiTags('Occupancies')
@AuthenticatedByEnrollment()
@Controller('v1/occupancies')
export class OccupanciesController {
  constructor(
    private readonly openOccupancy: OpenOccupancyUseCase,
    private readonly closeOccupancy: CloseOccupancyUseCase,
    private readonly listOccupancies: ListOccupanciesUseCase,
    private readonly getOccupancy: GetOccupancyUseCase,
  ) {}

  @Post()
  @Roles(...WRITERS)
  @ApiOperation({ summary: 'A household moves in: open an occupancy, with a data key of its own' })
  @ApiBody({ schema: ref('OpenOccupancyRequest') })
  @ApiCreatedResponse({ schema: ref('Occupancy') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST'))
  @ApiConflictResponse(errorResponse('OCCUPANCY_OVERLAP: the meter has an occupancy in that period'))
  open(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(OpenOccupancyRequestSchema)) body: OpenOccupancyRequest,
  ) {
    return this.openOccupancy.execute(caller, body);
  }

  @Post(':occupancyId/close')
  @HttpCode(200)
  @Roles(...WRITERS)
  @ApiOperation({
    summary: 'The household moves out at `to` (exclusive)',
    description:
      'A future `to` takes effect at that instant (the ingest switches keys there). A past `to` (left ' +
      'without notice, at most PRIVACY_MAX_BACKDATE_DAYS back) re-seals what was sealed under this ' +
      "occupancy's key since then under the right key, and its release never includes it.",
  })
  @ApiBody({ schema: ref('CloseOccupancyRequest') })
  @ApiOkResponse({ schema: ref('Occupancy') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST, INVALID_PERIOD (to must lie after from)'))
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(errorResponse('OCCUPANCY_CLOSED: already closed at another time'))
  @ApiUnprocessableEntityResponse(
    errorResponse('BACKDATE_TOO_FAR: `to` lies further back than PRIVACY_MAX_BACKDATE_DAYS (default 90)'),
  )
  close(
    @CurrentCaller() caller: Caller,
    @Param('occupancyId', occupancyIdPipe) occupancyId: string,
    @Body(new ZodPipe(CloseOccupancyRequestSchema)) body: CloseOccupancyRequest,
  ) {
    return this.closeOccupancy.execute(caller, occupancyId, body);
  }

  @Get()
  @Roles(...ANY_ROLE)
  @ApiOperation({
    summary: "The tenant's occupancies (optionally one meter's) in start order, a page at a time",
  })
  @ApiQuery({ name: 'meterId', required: false })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ schema: ref('OccupancyPage') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST, INVALID_CURSOR'))
  list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(ListOccupanciesQuerySchema, 'query')) query: ListOccupanciesQuery,
  ) {
    return this.listOccupancies.execute(caller, query);
  }

  @Get(':occupancyId')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: 'One occupancy' })
  @ApiOkResponse({ schema: ref('Occupancy') })
  @ApiNotFoundResponse(notFound)
  get(@CurrentCaller() caller: Caller, @Param('occupancyId', occupancyIdPipe) occupancyId: string) {
    return this.getOccupancy.execute(caller, occupancyId);
  }
}
