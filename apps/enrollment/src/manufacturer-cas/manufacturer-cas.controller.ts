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
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { DisableManufacturerCaUseCase } from './disable-manufacturer-ca.use-case';
import {
  CaIdParam,
  RegisterManufacturerCaRequestSchema,
  type RegisterManufacturerCaRequest,
  VerifyManufacturerCaRequestSchema,
  type VerifyManufacturerCaRequest,
} from './manufacturer-cas.schemas';
import { ManufacturerCasQuery } from './manufacturer-cas.query';
import { RegisterManufacturerCaUseCase } from './register-manufacturer-ca.use-case';
import { VerifyManufacturerCaUseCase } from './verify-manufacturer-ca.use-case';

const caIdPipe = new ZodPipe(CaIdParam, 'CA id');

@ApiTags('Manufacturer CAs')
@Authenticated()
@Controller('v1/manufacturer-cas')
export class ManufacturerCasController {
  constructor(
    private readonly registerCa: RegisterManufacturerCaUseCase,
    private readonly verifyCa: VerifyManufacturerCaUseCase,
    private readonly disableCa: DisableManufacturerCaUseCase,
    private readonly cas: ManufacturerCasQuery,
  ) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Register a manufacturer CA; it is trusted once its holder proves possession (see verification)',
  })
  @ApiBody({ schema: ref('RegisterManufacturerCaRequest') })
  @ApiCreatedResponse({ schema: ref('RegisteredManufacturerCa') })
  @ApiBadRequestResponse(
    errorResponse(
      'CERTIFICATE_MALFORMED, CERTIFICATE_KEY_NOT_P256, CERTIFICATE_NOT_A_CA, CERTIFICATE_NOT_VALID_NOW',
    ),
  )
  @ApiConflictResponse(errorResponse('CA_ALREADY_REGISTERED: trusted or disabled already'))
  register(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(RegisterManufacturerCaRequestSchema)) body: RegisterManufacturerCaRequest,
  ) {
    return this.registerCa.execute(caller, body);
  }

  @Post(':caId/verification')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Prove possession: a certificate signed by the CA whose CN is the verification code',
  })
  @ApiBody({ schema: ref('VerifyManufacturerCaRequest') })
  @ApiOkResponse({ schema: ref('ManufacturerCa') })
  @ApiBadRequestResponse(
    errorResponse('VERIFICATION_CODE_MISMATCH, VERIFICATION_CODE_EXPIRED, VERIFICATION_CERTIFICATE_REJECTED'),
  )
  @ApiNotFoundResponse(errorResponse('CA_NOT_FOUND'))
  @ApiConflictResponse(errorResponse('CA_NOT_PENDING_VERIFICATION'))
  verify(
    @CurrentCaller() caller: Caller,
    @Param('caId', caIdPipe) caId: string,
    @Body(new ZodPipe(VerifyManufacturerCaRequestSchema)) body: VerifyManufacturerCaRequest,
  ) {
    return this.verifyCa.execute(caller, caId, body);
  }

  @Post(':caId/disable')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Stop trusting the CA: its meters can no longer bootstrap' })
  @ApiOkResponse({ schema: ref('ManufacturerCa') })
  @ApiNotFoundResponse(errorResponse('CA_NOT_FOUND'))
  disable(@CurrentCaller() caller: Caller, @Param('caId', caIdPipe) caId: string) {
    return this.disableCa.execute(caller, caId);
  }

  @Get()
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: "This tenant's manufacturer CAs" })
  @ApiOkResponse({ schema: ref('ManufacturerCaList') })
  list(@CurrentCaller() caller: Caller) {
    return this.cas.list(caller);
  }

  @Get(':caId')
  @Roles(...ANY_ROLE)
  @ApiOperation({ summary: 'One manufacturer CA' })
  @ApiOkResponse({ schema: ref('ManufacturerCa') })
  @ApiNotFoundResponse(errorResponse('CA_NOT_FOUND'))
  get(@CurrentCaller() caller: Caller, @Param('caId', caIdPipe) caId: string) {
    return this.cas.get(caller, caId);
  }
}
