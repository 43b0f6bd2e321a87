import { ZodPipe } from '@meterkeep/service-runtime';
import { Controller, Get, Header, Param, StreamableFile } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { GetCrlUseCase } from './get-crl.use-case';

const tenantPipe = new ZodPipe(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'tenant id'), 'tenant id');

/** Public: relying parties (telemetry, OTA, meters) fetch a tenant's CRL without a client certificate. */
@ApiTags('Public PKI material')
@Controller('bs/v1/tenants')
export class CrlController {
  constructor(private readonly getCrl: GetCrlUseCase) {}

  @Get(':tenantId/crl')
  @Header('Content-Type', 'application/pkix-crl')
  @Header('Cache-Control', 'max-age=300')
  @ApiOperation({ summary: "The tenant issuing CA's current CRL (DER), valid 24 h" })
  @ApiOkResponse({ description: 'application/pkix-crl' })
  @ApiNotFoundResponse({ description: 'CRL_NOT_FOUND: the tenant has no issuing CA' })
  async crl(@Param('tenantId', tenantPipe) tenantId: string): Promise<StreamableFile> {
    return new StreamableFile(await this.getCrl.execute(tenantId));
  }
}
