import { Body, Controller, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  OTA_CHECK_IN,
  OTA_DOWNLOAD_URL,
  OTA_EXECUTION_MANIFEST,
  OTA_EXECUTION_RECEIPT,
  OTA_EXECUTION_STATUS,
  type OtaCheckInQuery,
  type OtaStatusReport,
  otaCheckInQuery,
  otaDownloadUrlRequest,
  otaStatusReport,
} from '@meterkeep/contracts';
import { ContractRoute, ZodPipe } from '@meterkeep/service-runtime';
import type { z } from 'zod';
import type { AuthenticatedMeter } from './authenticated-meter';
import { CheckInUseCase } from './check-in.use-case';
import { ConfirmInstallUseCase } from './confirm-install.use-case';
import { CurrentMeter } from './current-meter.decorator';
import { DEVICE_BODY_BYTES, type DeviceBodyRequest } from './device-edge';
import { GetExecutionManifestUseCase } from './get-execution-manifest.use-case';
import { IssueDownloadUrlUseCase } from './issue-download-url.use-case';
import { OtaDeviceErrors } from './ota-device.errors';
import { ReportStatusUseCase } from './report-status.use-case';
import { apiSchemas } from '../openapi/schemas';

/** An id that no execution can have is simply not one of the meter's: the same 404. */
const executionIdPipe = {
  transform(value: unknown): string {
    if (!OTA_EXECUTION_STATUS.params.executionId.safeParse(value).success)
      throw OtaDeviceErrors.executionNotFound();
    return value as string;
  },
};

/**
 * The OTA device API (spec §6.2), paths and shapes from libs/contracts: every method reads the meter
 * the mutual-TLS edge authenticated (@CurrentMeter(): 401 without one) and calls one use case.
 */
@ApiTags('OTA device API')
@Controller()
export class DeviceApiController {
  constructor(
    private readonly checkIn: CheckInUseCase,
    private readonly manifests: GetExecutionManifestUseCase,
    private readonly downloadUrls: IssueDownloadUrlUseCase,
    private readonly statuses: ReportStatusUseCase,
    private readonly receipts: ConfirmInstallUseCase,
  ) {}

  @ContractRoute(OTA_CHECK_IN, apiSchemas)
  async checkInRoute(
    @CurrentMeter() meter: AuthenticatedMeter,
    @Query(new ZodPipe(otaCheckInQuery, 'check-in query')) query: OtaCheckInQuery,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const outcome = await this.checkIn.execute(meter, query, ifNoneMatch);
    response.setHeader('ETag', outcome.etag);
    response.setHeader('Cache-Control', `private, max-age=${outcome.pollAfterSeconds}`);
    if (outcome.status === 304) {
      response.status(304);
      return undefined;
    }
    return outcome.answer;
  }

  @ContractRoute(OTA_EXECUTION_MANIFEST, apiSchemas)
  async manifest(
    @CurrentMeter() meter: AuthenticatedMeter,
    @Param('executionId', executionIdPipe) executionId: string,
    @Res() response: Response,
  ): Promise<void> {
    const bytes = await this.manifests.execute(meter, executionId);
    response.status(200).type('application/json').setHeader('Cache-Control', 'private, no-store');
    response.end(bytes);
  }

  @ContractRoute(OTA_DOWNLOAD_URL, apiSchemas)
  async downloadUrl(
    @CurrentMeter() meter: AuthenticatedMeter,
    @Param('executionId', executionIdPipe) executionId: string,
    @Body(new ZodPipe(otaDownloadUrlRequest)) body: z.output<typeof otaDownloadUrlRequest>,
    @Res({ passthrough: true }) response: Response,
  ) {
    const answer = await this.downloadUrls.execute(meter, executionId, body);
    response.setHeader('Cache-Control', 'private, no-store');
    return answer;
  }

  @ContractRoute(OTA_EXECUTION_STATUS, apiSchemas)
  status(
    @CurrentMeter() meter: AuthenticatedMeter,
    @Param('executionId', executionIdPipe) executionId: string,
    @Body(new ZodPipe(otaStatusReport)) body: OtaStatusReport,
  ) {
    return this.statuses.execute(meter, executionId, body);
  }

  @ContractRoute(OTA_EXECUTION_RECEIPT, apiSchemas)
  receipt(
    @CurrentMeter() meter: AuthenticatedMeter,
    @Param('executionId', executionIdPipe) executionId: string,
    @Req() request: DeviceBodyRequest,
  ) {
    const bytes = request[DEVICE_BODY_BYTES];
    if (!bytes) throw OtaDeviceErrors.unsupportedMediaType();
    return this.receipts.execute(meter, executionId, request.body, bytes);
  }
}
