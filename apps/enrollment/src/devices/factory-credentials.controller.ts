import {
  Authenticated,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import {
  FACTORY_CREDENTIAL_REVOKE,
  FACTORY_CREDENTIAL_ROTATE,
  type FactoryCredentialRotation,
} from '@meterkeep/contracts';
import { Body, Controller, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { FactoryCredentialUseCase } from './factory-credential.use-case';

const endpointPipe = new ZodPipe(FACTORY_CREDENTIAL_ROTATE.params.endpoint, 'endpoint name');

/** Operators revoke or rotate a meter's factory credential (routes of libs/contracts). */
@ApiTags('Devices')
@Authenticated()
@Controller()
export class FactoryCredentialsController {
  constructor(private readonly credentials: FactoryCredentialUseCase) {}

  @ContractRoute(FACTORY_CREDENTIAL_REVOKE)
  @Roles('admin', 'operator')
  revoke(@CurrentCaller() caller: Caller, @Param('endpoint', endpointPipe) endpoint: string) {
    return this.credentials.revoke(caller, endpoint);
  }

  @ContractRoute(FACTORY_CREDENTIAL_ROTATE)
  @Roles('admin', 'operator')
  rotate(
    @CurrentCaller() caller: Caller,
    @Param('endpoint', endpointPipe) endpoint: string,
    @Body(new ZodPipe(FACTORY_CREDENTIAL_ROTATE.request)) body: FactoryCredentialRotation,
  ) {
    return this.credentials.rotate(caller, endpoint, body);
  }
}
