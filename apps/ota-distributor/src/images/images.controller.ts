import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  type FirmwareImageComplete,
  type FirmwareImageCreate,
  OTA_IMAGE_COMPLETE,
  OTA_IMAGE_CREATE,
  OTA_IMAGE_GET,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  WRITERS,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { CompleteImageUploadUseCase } from './complete-image-upload.use-case';
import { CreateImageUploadUseCase } from './create-image-upload.use-case';
import { imageView } from './image.view';
import { ImageErrors } from './images.errors';
import { ImagesRepository } from './images.repository';
import { apiSchemas } from '../openapi/schemas';

const imageIdPipe = new ZodPipe(OTA_IMAGE_GET.params.imageId, 'image id');

/** Operators upload firmware images through presigned S3 URLs; every role reads them. */
@ApiTags('Firmware images')
@AuthenticatedByEnrollment()
@Controller()
export class ImagesController {
  constructor(
    private readonly createUpload: CreateImageUploadUseCase,
    private readonly completeUpload: CompleteImageUploadUseCase,
    private readonly images: ImagesRepository,
  ) {}

  @ContractRoute(OTA_IMAGE_CREATE, apiSchemas)
  @Roles(...WRITERS)
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(OTA_IMAGE_CREATE.request)) body: FirmwareImageCreate,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { answer, created } = await this.createUpload.execute(caller, body);
    if (created) response.status(201);
    return answer;
  }

  @ContractRoute(OTA_IMAGE_COMPLETE, apiSchemas)
  @Roles(...WRITERS)
  complete(
    @CurrentCaller() caller: Caller,
    @Param('imageId', imageIdPipe) imageId: string,
    @Body(new ZodPipe(OTA_IMAGE_COMPLETE.request)) body: FirmwareImageComplete,
  ) {
    return this.completeUpload.execute(caller, imageId, body);
  }

  @ContractRoute(OTA_IMAGE_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('imageId', imageIdPipe) imageId: string) {
    const row = await this.images.find(caller.tenantId, imageId);
    if (!row) throw ImageErrors.notFound();
    return imageView(row);
  }
}
