import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  OTA_UPDATE_AUTHORITY_LIST,
  OTA_UPDATE_AUTHORITY_REGISTER,
  OTA_UPDATE_AUTHORITY_REVOKE,
  type UpdateAuthorityRegistration,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { RegisterUpdateAuthorityUseCase } from './register-update-authority.use-case';
import { RevokeUpdateAuthorityUseCase } from './revoke-update-authority.use-case';
import { UpdateAuthoritiesRepository } from './update-authorities.repository';
import { updateAuthorityView } from './update-authority.view';
import { apiSchemas } from '../openapi/schemas';

/** Admins register and revoke the tenant's update authorities; every role lists them. */
@ApiTags('Update authorities')
@AuthenticatedByEnrollment()
@Controller()
export class UpdateAuthoritiesController {
  constructor(
    private readonly register: RegisterUpdateAuthorityUseCase,
    private readonly revoke: RevokeUpdateAuthorityUseCase,
    private readonly authorities: UpdateAuthoritiesRepository,
  ) {}

  @ContractRoute(OTA_UPDATE_AUTHORITY_REGISTER, apiSchemas)
  @Roles('admin')
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(OTA_UPDATE_AUTHORITY_REGISTER.request)) body: UpdateAuthorityRegistration,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { authority, created } = await this.register.execute(caller, body.publicKeyPem);
    if (created) response.status(201);
    return authority;
  }

  @ContractRoute(OTA_UPDATE_AUTHORITY_REVOKE, apiSchemas)
  @Roles('admin')
  revokeOne(
    @CurrentCaller() caller: Caller,
    @Param('keyId', new ZodPipe(OTA_UPDATE_AUTHORITY_REVOKE.params.keyId, 'key id')) keyId: string,
  ) {
    return this.revoke.execute(caller, keyId);
  }

  @ContractRoute(OTA_UPDATE_AUTHORITY_LIST, apiSchemas)
  @Roles(...ANY_ROLE)
  async list(@CurrentCaller() caller: Caller) {
    return { items: (await this.authorities.list(caller.tenantId)).map(updateAuthorityView) };
  }
}
