import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DeviceListener } from './device-listener';

/** Public: the CA a factory puts in each meter's bundle (bootstrap.trustAnchorPem). */
@ApiTags('Public PKI material')
@Controller('bs/v1')
export class ServerCaController {
  constructor(private readonly listener: DeviceListener) {}

  @Get('server-ca')
  @Header('Content-Type', 'application/x-pem-file')
  @ApiOperation({ summary: 'The bootstrap server CA (PEM): meters trust the device listener by it' })
  @ApiOkResponse({ description: 'application/x-pem-file' })
  serverCa(): string {
    return this.listener.caPem;
  }
}
