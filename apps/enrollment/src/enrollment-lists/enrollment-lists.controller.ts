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
import { Controller, Get, Headers, Param, Post, Req, UnsupportedMediaTypeException } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import type { ListFormat } from './enrollment-list.parser';
import { UploadIdParam } from './enrollment-lists.schemas';
import { GetEnrollmentUploadUseCase } from './get-enrollment-upload.use-case';
import { UploadEnrollmentListUseCase } from './upload-enrollment-list.use-case';

const FORMATS: Record<string, ListFormat> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
};

function formatOf(contentType: string | undefined): ListFormat {
  const format = FORMATS[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
  if (!format) throw new UnsupportedMediaTypeException('Send the list as text/csv or application/x-ndjson');
  return format;
}

const LIST_DESCRIPTION = `The request body is the list itself, streamed (up to 1,000,000 rows, 256 MiB).
CSV: a header, then one meter per line: \`endpoint_name,certificate_sha256,model,batch_id,class_id\` or
\`endpoint_name,psk_identity,psk_key_base64,model,batch_id,class_id\` (class_id, the device class, optional). NDJSON: one object per line with
endpointName, certificateSha256 | (pskIdentity, pskKeyBase64), model, batchId, classId. PSKs are stored
encrypted and never returned.`;

@ApiTags('Enrollment lists')
@Authenticated()
@Controller('v1/enrollment-lists')
export class EnrollmentListsController {
  constructor(
    private readonly uploadList: UploadEnrollmentListUseCase,
    private readonly getUpload: GetEnrollmentUploadUseCase,
  ) {}

  @Post()
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Upload an enrollment list (CSV or NDJSON); rejected rows are reported by line' })
  @ApiConsumes('text/csv', 'application/x-ndjson')
  @ApiBody({ description: LIST_DESCRIPTION, schema: { type: 'string' } })
  @ApiCreatedResponse({ schema: ref('EnrollmentListReport') })
  @ApiBadRequestResponse(
    errorResponse('INVALID_ENROLLMENT_LIST_HEADER, ENROLLMENT_LIST_EMPTY, ENROLLMENT_LIST_TOO_LARGE'),
  )
  @ApiUnsupportedMediaTypeResponse(errorResponse('Neither text/csv nor application/x-ndjson'))
  upload(
    @CurrentCaller() caller: Caller,
    @Req() request: Request,
    @Headers('content-type') contentType?: string,
  ) {
    const format = formatOf(contentType);
    const length = request.headers['content-length'];
    // Nest parses only JSON and form bodies: this one is still unread, and is read as a stream.
    return this.uploadList.execute(caller, {
      format,
      body: request,
      ...(length !== undefined && { declaredBytes: Number(length) }),
    });
  }

  @Get(':uploadId')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: 'The report of an earlier upload' })
  @ApiOkResponse({ schema: ref('EnrollmentListReport') })
  @ApiNotFoundResponse(errorResponse('UPLOAD_NOT_FOUND'))
  get(
    @CurrentCaller() caller: Caller,
    @Param('uploadId', new ZodPipe(UploadIdParam, 'upload id')) uploadId: string,
  ) {
    return this.getUpload.execute(caller, uploadId);
  }
}
