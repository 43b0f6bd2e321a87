import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  ANY_ROLE,
  type Caller,
  CurrentCaller,
  Roles,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { GetErasureUseCase } from './get-erasure.use-case';
import {
  ErasureIdParam,
  type RequestErasureBody,
  RequestErasureSchema,
  SubjectRefParam,
} from './erasures.schemas';
import { RequestErasureUseCase } from './request-erasure.use-case';
import { RetryErasureUseCase } from './retry-erasure.use-case';

const subjectPipe = new ZodPipe(SubjectRefParam, 'subject reference');
const erasurePipe = new ZodPipe(ErasureIdParam, 'erasure id');
const notFound = errorResponse("ERASURE_NOT_FOUND (another subject's or tenant's erasure answers the same)");

@ApiTags('Erasures')
@AuthenticatedByEnrollment()
@Controller('v1/subjects/:subjectRef/erasures')
export class ErasuresController {
  constructor(
    private readonly requestErasure: RequestErasureUseCase,
    private readonly getErasure: GetErasureUseCase,
    private readonly retryErasure: RetryErasureUseCase,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({
    summary: "Erase a data subject (Art. 17): destroy their occupancies' keys, purge, certify",
    description:
      'Answers at once (202) with the saga; poll it until CERTIFIED. Idempotent: the same subject, ' +
      'occupancies and retentions answer the first erasure.',
  })
  @ApiBody({ schema: ref('RequestErasure') })
  @ApiAcceptedResponse({ schema: ref('Erasure') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST, RETENTION_IN_PAST'))
  @ApiNotFoundResponse(errorResponse('SUBJECT_NOT_FOUND: no occupancy of this tenant names the subject'))
  @ApiUnprocessableEntityResponse(
    errorResponse(
      'RETENTION_SCHEDULE_MISSING: a retention left its date or basis to a schedule the tenant has not set',
    ),
  )
  request(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Body(new ZodPipe(RequestErasureSchema)) body: RequestErasureBody,
  ) {
    return this.requestErasure.execute(caller, subjectRef, body);
  }

  @Get(':erasureId')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: "An erasure saga's state and the confirmations it collected" })
  @ApiOkResponse({ schema: ref('Erasure') })
  @ApiNotFoundResponse(notFound)
  get(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Param('erasureId', erasurePipe) erasureId: string,
  ) {
    return this.getErasure.execute(caller, subjectRef, erasureId);
  }

  @Get(':erasureId/certificate')
  @Roles(...ANY_ROLE)
  @ApiOperation({
    summary: 'The signed erasure certificate (ES256 over RFC 8785 JSON; spec privacy.md §4.6)',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(errorResponse('CERTIFICATE_NOT_READY: the saga is not CERTIFIED'))
  certificate(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Param('erasureId', erasurePipe) erasureId: string,
  ) {
    return this.getErasure.certificate(caller, subjectRef, erasureId);
  }

  @Post(':erasureId/retry')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: 'Resume a FAILED erasure where it stopped' })
  @ApiAcceptedResponse({ schema: ref('Erasure') })
  @ApiNotFoundResponse(notFound)
  @ApiConflictResponse(errorResponse('ERASURE_NOT_FAILED: only a failed erasure is retried'))
  retry(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Param('erasureId', erasurePipe) erasureId: string,
  ) {
    return this.retryErasure.execute(caller, subjectRef, erasureId);
  }
}
