import { Controller, Param, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  OTA_MANIFEST_ACCEPT,
  OTA_MANIFEST_ENVELOPE_GET,
  OTA_MANIFEST_GET,
  OTA_MANIFEST_REVOKE,
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
import { AcceptManifestUseCase } from './accept-manifest.use-case';
import { ENVELOPE_BYTES, type EnvelopeRequest } from './envelope-body.middleware';
import { ManifestEnvelopes } from './manifest-envelopes';
import { manifestView } from './manifest.view';
import { ManifestErrors } from './manifests.errors';
import { ManifestsRepository } from './manifests.repository';
import { RevokeManifestUseCase } from './revoke-manifest.use-case';
import { apiSchemas } from '../openapi/schemas';

const manifestIdPipe = new ZodPipe(OTA_MANIFEST_GET.params.manifestId, 'manifest id');

/** Signed manifests: operators submit the offline signer's bytes, every role reads, admins revoke. */
@ApiTags('Firmware manifests')
@AuthenticatedByEnrollment()
@Controller()
export class ManifestsController {
  constructor(
    private readonly acceptManifest: AcceptManifestUseCase,
    private readonly revokeManifest: RevokeManifestUseCase,
    private readonly manifests: ManifestsRepository,
    private readonly envelopes: ManifestEnvelopes,
  ) {}

  @ContractRoute(OTA_MANIFEST_ACCEPT, apiSchemas)
  @Roles(...WRITERS)
  async accept(
    @CurrentCaller() caller: Caller,
    @Req() request: EnvelopeRequest,
    @Res({ passthrough: true }) response: Response,
  ) {
    const bytes = request[ENVELOPE_BYTES];
    if (!bytes) throw ManifestErrors.mediaType();
    const { answer, created } = await this.acceptManifest.execute(caller, bytes);
    response.status(created ? 201 : 200);
    return answer;
  }

  @ContractRoute(OTA_MANIFEST_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('manifestId', manifestIdPipe) manifestId: string) {
    const row = await this.manifests.find(caller.tenantId, manifestId);
    if (!row) throw ManifestErrors.notFound();
    return manifestView(row);
  }

  @ContractRoute(OTA_MANIFEST_ENVELOPE_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  async envelope(
    @CurrentCaller() caller: Caller,
    @Param('manifestId', manifestIdPipe) manifestId: string,
    @Res() response: Response,
  ) {
    const bytes = await this.envelopes.read(caller.tenantId, manifestId);
    response.status(200).type('application/json').send(bytes);
  }

  @ContractRoute(OTA_MANIFEST_REVOKE, apiSchemas)
  @Roles('admin')
  revoke(@CurrentCaller() caller: Caller, @Param('manifestId', manifestIdPipe) manifestId: string) {
    return this.revokeManifest.execute(caller, manifestId);
  }
}
