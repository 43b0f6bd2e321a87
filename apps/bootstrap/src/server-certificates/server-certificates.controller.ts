import { ContractRoute, InternalCaller, InternalCallerGuard, ZodPipe } from '@meterkeep/service-runtime';
import {
  SERVER_CERTIFICATES_ISSUE,
  type ServerCertificateAnswer,
  type ServerCertificateRequest,
} from '@meterkeep/contracts';
import { Body, Controller, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IssueServerCertificateUseCase } from './issue-server-certificate.use-case';

/**
 * INTERNAL, service to service, on the internal listener only: operational servers (telemetry
 * ingest, OTA) get their TLS server certificates from the CA meters trust (SERVER_CERTIFICATES_ISSUE),
 * each for the host names configured for it.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalCallerGuard)
@Controller()
export class ServerCertificatesController {
  constructor(private readonly issue: IssueServerCertificateUseCase) {}

  @ContractRoute(SERVER_CERTIFICATES_ISSUE)
  serverCertificate(
    @Body(new ZodPipe(SERVER_CERTIFICATES_ISSUE.request)) body: ServerCertificateRequest,
    @InternalCaller() caller: string,
  ): Promise<ServerCertificateAnswer> {
    return this.issue.execute(caller, body);
  }
}
