import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
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
import { SubjectRefParam } from '../erasures/erasures.schemas';
import { ExportIdParam, type RequestExportBody, RequestExportSchema } from './exports.schemas';
import { GetExportUseCase } from './get-export.use-case';
import { RequestExportUseCase } from './request-export.use-case';

const subjectPipe = new ZodPipe(SubjectRefParam, 'subject reference');
const exportPipe = new ZodPipe(ExportIdParam, 'export id');

@ApiTags('Exports')
@AuthenticatedByEnrollment()
@Controller('v1/subjects/:subjectRef/exports')
export class ExportsController {
  constructor(
    private readonly requestExport: RequestExportUseCase,
    private readonly getExport: GetExportUseCase,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({
    summary: "Export a data subject's data (Art. 15 access, Art. 20 portability)",
    description:
      'Answers at once (202); poll the export until READY, then download the sealed archive from the ' +
      'link and open it with the one-time key (readings per occupancy as JSON and CSV, consents, ' +
      'occupancies, releases, processing information, and a signed manifest of SHA-256 digests).',
  })
  @ApiBody({ schema: ref('RequestExport') })
  @ApiAcceptedResponse({ schema: ref('Export') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST'))
  @ApiNotFoundResponse(
    errorResponse(
      'SUBJECT_NOT_FOUND: no occupancy of this tenant names the subject; OCCUPANCY_NOT_OF_SUBJECT',
    ),
  )
  request(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Body(new ZodPipe(RequestExportSchema)) body: RequestExportBody,
  ) {
    return this.requestExport.execute(caller, subjectRef, body);
  }

  @Get(':exportId')
  @Roles(...ANY_ROLE)
  @ApiOperation({
    summary: "An export's state; when READY, for admins, the download link and the archive's key",
  })
  @ApiOkResponse({ schema: ref('Export') })
  @ApiNotFoundResponse(
    errorResponse("EXPORT_NOT_FOUND (another subject's or tenant's export answers the same)"),
  )
  get(
    @CurrentCaller() caller: Caller,
    @Param('subjectRef', subjectPipe) subjectRef: string,
    @Param('exportId', exportPipe) exportId: string,
  ) {
    return this.getExport.execute(caller, subjectRef, exportId);
  }
}
