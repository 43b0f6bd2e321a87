import { Body, Controller, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  OTA_DEPLOYMENT_CREATE,
  OTA_DEPLOYMENT_EXECUTIONS,
  OTA_DEPLOYMENT_GET,
  OTA_DEVICE_FIRMWARE_GET,
  type OtaExecutionState,
  firmwareDeploymentCreate,
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
import { CreateDeploymentUseCase, type DeploymentRequest } from './create-deployment.use-case';
import { deploymentView, executionView } from './deployment.view';
import { DeploymentErrors } from './deployments.errors';
import { DeploymentsRepository } from './deployments.repository';
import { GetDeviceFirmwareUseCase } from './get-device-firmware.use-case';
import { apiSchemas } from '../openapi/schemas';

const deploymentIdPipe = new ZodPipe(OTA_DEPLOYMENT_GET.params.deploymentId, 'deployment id');
const deviceIdPipe = new ZodPipe(OTA_DEVICE_FIRMWARE_GET.params.deviceId, 'device id');
const executionsQueryPipe = new ZodPipe(OTA_DEPLOYMENT_EXECUTIONS.query!, 'query');

/** Operators deploy accepted manifests to explicit device lists and follow them; every role reads. */
@ApiTags('Firmware deployments')
@AuthenticatedByEnrollment()
@Controller()
export class DeploymentsController {
  constructor(
    private readonly create: CreateDeploymentUseCase,
    private readonly deviceFirmware: GetDeviceFirmwareUseCase,
    private readonly deployments: DeploymentsRepository,
  ) {}

  @ContractRoute(OTA_DEPLOYMENT_CREATE, apiSchemas)
  @Roles(...WRITERS)
  createDeployment(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(firmwareDeploymentCreate)) body: DeploymentRequest,
  ) {
    return this.create.execute(caller, body);
  }

  @ContractRoute(OTA_DEPLOYMENT_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller, @Param('deploymentId', deploymentIdPipe) deploymentId: string) {
    const row = await this.deployments.find(caller.tenantId, deploymentId);
    if (!row) throw DeploymentErrors.deploymentNotFound();
    return deploymentView(row, await this.deployments.counts(deploymentId));
  }

  @ContractRoute(OTA_DEPLOYMENT_EXECUTIONS, apiSchemas)
  @Roles(...ANY_ROLE)
  async executions(
    @CurrentCaller() caller: Caller,
    @Param('deploymentId', deploymentIdPipe) deploymentId: string,
    @Query(executionsQueryPipe) query: Record<string, unknown>,
  ) {
    const row = await this.deployments.find(caller.tenantId, deploymentId);
    if (!row) throw DeploymentErrors.deploymentNotFound();
    const { state, after, limit } = query as { state?: OtaExecutionState; after?: string; limit: number };
    const items = await this.deployments.executions(deploymentId, {
      limit,
      ...(state !== undefined && { state }),
      ...(after !== undefined && { after }),
    });
    return {
      items: items.map(executionView),
      ...(items.length === limit && { next: items[items.length - 1]!.device_id }),
    };
  }

  @ContractRoute(OTA_DEVICE_FIRMWARE_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  firmware(@CurrentCaller() caller: Caller, @Param('deviceId', deviceIdPipe) deviceId: string) {
    return this.deviceFirmware.execute(caller, deviceId);
  }
}
