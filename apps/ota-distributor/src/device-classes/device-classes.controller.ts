import { Body, Controller, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { type DeviceClassUpsert, OTA_DEVICE_CLASS_PUT } from '@meterkeep/contracts';
import { type Caller, ContractRoute, CurrentCaller, Roles, ZodPipe } from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { PutDeviceClassUseCase } from './put-device-class.use-case';
import { apiSchemas } from '../openapi/schemas';

/** Operators declare device classes (routes of libs/contracts). */
@ApiTags('Device classes')
@AuthenticatedByEnrollment()
@Controller()
export class DeviceClassesController {
  constructor(private readonly putDeviceClass: PutDeviceClassUseCase) {}

  @ContractRoute(OTA_DEVICE_CLASS_PUT, apiSchemas)
  @Roles('admin')
  put(
    @CurrentCaller() caller: Caller,
    @Param('classId', new ZodPipe(OTA_DEVICE_CLASS_PUT.params.classId, 'class id')) classId: string,
    @Body(new ZodPipe(OTA_DEVICE_CLASS_PUT.request)) body: DeviceClassUpsert,
  ) {
    return this.putDeviceClass.execute(caller, classId, body);
  }
}
