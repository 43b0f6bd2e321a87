import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenGuard,
  ZodPipe,
  openApiSchema,
} from '@meterkeep/service-runtime';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { IssueServerCertificateUseCase } from './issue-server-certificate.use-case';
import {
  type ServerCertificateAnswer,
  ServerCertificateAnswerSchema,
  type ServerCertificateRequest,
  ServerCertificateRequestSchema,
} from './server-certificates.schemas';

/**
 * INTERNAL, service to service, on the plain listener only: operational servers (telemetry ingest,
 * OTA) get their TLS server certificates from the CA meters trust.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalTokenGuard)
@Controller('internal/v1/server-certificates')
export class ServerCertificatesController {
  constructor(private readonly issue: IssueServerCertificateUseCase) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'INTERNAL: a 7-day TLS server certificate from the platform server CA, for a CSR',
    description: `Needs the ${INTERNAL_TOKEN_HEADER} header (INTERNAL_API_TOKEN). Not served on the device listener.`,
  })
  @ApiBody({ schema: openApiSchema(ServerCertificateRequestSchema) })
  @ApiOkResponse({ schema: openApiSchema(ServerCertificateAnswerSchema) })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST, CSR_INVALID, CSR_KEY_UNSUPPORTED' })
  @ApiUnauthorizedResponse({ description: 'UNAUTHENTICATED: no valid internal token' })
  serverCertificate(
    @Body(new ZodPipe(ServerCertificateRequestSchema)) body: ServerCertificateRequest,
  ): Promise<ServerCertificateAnswer> {
    return this.issue.execute(body);
  }
}
