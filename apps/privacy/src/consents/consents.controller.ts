import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
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
import { OccupancyIdParam } from '../occupancies/occupancies.schemas';
import {
  type AsOfQuery,
  AsOfQuerySchema,
  type ConsentChangeBody,
  ConsentChangeRequestSchema,
} from './consents.schemas';
import { ReadConsentsUseCase } from './read-consents.use-case';
import { RecordConsentChangeUseCase } from './record-consent-change.use-case';

const occupancyIdPipe = new ZodPipe(OccupancyIdParam, 'occupancy id');
const asOfPipe = new ZodPipe(AsOfQuerySchema, 'query');
const notFound = errorResponse(
  "OCCUPANCY_NOT_FOUND: no such occupancy in this tenant (another tenant's answers the same)",
);
const asOfQuery = { name: 'asOf', required: false, description: 'ISO 8601 instant; now by default' };

@ApiTags('Consents')
@AuthenticatedByEnrollment()
@Controller('v1/occupancies')
export class ConsentsController {
  constructor(
    private readonly recordChange: RecordConsentChangeUseCase,
    private readonly readConsents: ReadConsentsUseCase,
  ) {}

  @Post(':occupancyId/consents')
  @Roles(...WRITERS)
  @ApiOperation({
    summary:
      'Grant, withdraw or opt out, for one purpose and recipient of the occupancy (appended to its ledger)',
    description:
      "Decided by the tenant's consent policy (the GB preset). A withdrawal or an opt-out takes effect at once; " +
      'an opt-out default seven days after its notice; a grant never in the past. Audited; published on ' +
      'privacy.consents.v1 and privacy.consent-state.v1.',
  })
  @ApiBody({ schema: ref('ConsentChangeRequest') })
  @ApiCreatedResponse({ schema: ref('ConsentEntry') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST, INVALID_PERIOD, EVIDENCE_REF_INVALID'))
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(errorResponse('OCCUPANCY_CLOSED (no grant after move-out), OPTED_OUT'))
  @ApiUnprocessableEntityResponse(
    errorResponse(
      'PURPOSE_UNKNOWN, RECIPIENT_NOT_ALLOWED, BASIS_NOT_ALLOWED, GRANULARITY_NOT_PERMITTED, NOTICE_REQUIRED, ' +
        'OPT_OUT_NOT_AVAILABLE, PERIOD_REQUIRED',
    ),
  )
  change(
    @CurrentCaller() caller: Caller,
    @Param('occupancyId', occupancyIdPipe) occupancyId: string,
    @Body(new ZodPipe(ConsentChangeRequestSchema)) body: ConsentChangeBody,
  ) {
    return this.recordChange.execute(caller, occupancyId, body);
  }

  @Get(':occupancyId/consents')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: "The occupancy's consent ledger as recorded by asOf, oldest first" })
  @ApiQuery(asOfQuery)
  @ApiOkResponse({ schema: ref('ConsentLedger') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST'))
  @ApiNotFoundResponse(notFound)
  ledger(
    @CurrentCaller() caller: Caller,
    @Param('occupancyId', occupancyIdPipe) occupancyId: string,
    @Query(asOfPipe) query: AsOfQuery,
  ) {
    return this.readConsents.ledger(caller, occupancyId, query.asOf);
  }

  @Get(':occupancyId/permissions')
  @Roles(...ANY_ROLE)
  @ApiOperation({
    summary: 'The granularity permitted at asOf for every purpose and recipient, as the ledger then stood',
  })
  @ApiQuery(asOfQuery)
  @ApiOkResponse({ schema: ref('ConsentPermissions') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST'))
  @ApiNotFoundResponse(notFound)
  permissions(
    @CurrentCaller() caller: Caller,
    @Param('occupancyId', occupancyIdPipe) occupancyId: string,
    @Query(asOfPipe) query: AsOfQuery,
  ) {
    return this.readConsents.permissions(caller, occupancyId, query.asOf);
  }
}
