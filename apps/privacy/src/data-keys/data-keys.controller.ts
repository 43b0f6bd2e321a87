import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { type Caller, CurrentCaller, Roles, ZodPipe, errorResponse, ref } from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { dataKeyId } from '@meterkeep/contracts';
import { DestroyDataKeyUseCase } from './destroy-data-key.use-case';
// Registers DestroyedDataKey (the use case imports only its type, which the compiler drops).
import './data-keys.schemas';

@ApiTags('Data keys')
@AuthenticatedByEnrollment()
@Controller('v1/data-keys')
export class DataKeysController {
  constructor(private readonly destroyDataKey: DestroyDataKeyUseCase) {}

  @Post(':keyId/destroy')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Destroy a data key (crypto-shredding): what it encrypted becomes unreadable everywhere',
    description: 'Final and idempotent: a second call answers the first destruction.',
  })
  @ApiOkResponse({ schema: ref('DestroyedDataKey') })
  @ApiBadRequestResponse(errorResponse('INVALID_REQUEST: not a data key id'))
  @ApiNotFoundResponse(errorResponse("DATA_KEY_NOT_FOUND (another tenant's key answers the same)"))
  destroy(@CurrentCaller() caller: Caller, @Param('keyId', new ZodPipe(dataKeyId, 'key id')) keyId: string) {
    return this.destroyDataKey.execute(caller, keyId);
  }
}
