import {
  OTA_AUDIT_VERIFY,
  OTA_CHECK_IN,
  OTA_DOWNLOAD_URL,
  OTA_EXECUTION_MANIFEST,
  OTA_EXECUTION_RECEIPT,
  OTA_EXECUTION_STATUS,
  campaignCancel,
  campaignCreate,
  campaignDevicePage,
  campaignResume,
  campaignSimulation,
  campaignView,
  deviceClassUpsert,
  deviceClassView,
  deviceFirmwareView,
  firmwareCompliance,
  firmwareDeploymentCreate,
  firmwareDeploymentView,
  firmwareExecutionPage,
  firmwareImageComplete,
  firmwareImageCreate,
  firmwareImageUpload,
  firmwareImageView,
  firmwareManifestEnvelope,
  firmwareManifestView,
  otaCheckInAnswer,
  otaDownloadUrlAnswer,
  otaDownloadUrlRequest,
  otaReceiptAnswer,
  otaStatusAnswer,
  otaStatusReport,
  signedReceipt,
  updateAuthorityList,
  updateAuthorityRegistration,
  updateAuthorityView,
} from '@meterkeep/contracts';
import { ApiSchemaRegistry } from '@meterkeep/service-runtime';

/** The OTA distributor's named zod schemas: the components of its OpenAPI document ('Error' among them). */
export const apiSchemas = new ApiSchemaRegistry();

/**
 * Names a zod schema as an OpenAPI component. The same schema validates requests (ZodPipe) and
 * documents them, so the docs cannot drift from what the service accepts.
 */
export const apiSchema = apiSchemas.add.bind(apiSchemas);

// The routes' schemas come from libs/contracts; naming them here, before any controller is decorated
// (controllers import this module), lets `@ContractRoute(route, apiSchemas)` answer with $refs.

// Operators: device classes, update authorities, images, manifests, deployments, compliance, audit.
apiSchema('DeviceClassUpsert', deviceClassUpsert, 'input');
apiSchema('DeviceClass', deviceClassView);
apiSchema('UpdateAuthorityRegistration', updateAuthorityRegistration, 'input');
apiSchema('UpdateAuthority', updateAuthorityView);
apiSchema('UpdateAuthorityList', updateAuthorityList);
apiSchema('FirmwareImageCreate', firmwareImageCreate, 'input');
apiSchema('FirmwareImageUpload', firmwareImageUpload);
apiSchema('FirmwareImageComplete', firmwareImageComplete, 'input');
apiSchema('FirmwareImage', firmwareImageView);
apiSchema('FirmwareManifestSubmission', firmwareManifestEnvelope, 'input');
apiSchema('FirmwareManifestEnvelope', firmwareManifestEnvelope);
apiSchema('FirmwareManifest', firmwareManifestView);
apiSchema('FirmwareDeploymentCreate', firmwareDeploymentCreate, 'input');
apiSchema('FirmwareDeployment', firmwareDeploymentView);
apiSchema('FirmwareExecutionPage', firmwareExecutionPage);
apiSchema('DeviceFirmware', deviceFirmwareView);
apiSchema('FirmwareCompliance', firmwareCompliance);
apiSchema('AuditChainVerification', OTA_AUDIT_VERIFY.responses[200]);

// Operators: campaigns.
apiSchema('CampaignCreate', campaignCreate, 'input');
apiSchema('CampaignResume', campaignResume, 'input');
apiSchema('CampaignCancel', campaignCancel, 'input');
apiSchema('Campaign', campaignView);
apiSchema('CampaignDevicePage', campaignDevicePage);
apiSchema('CampaignSimulation', campaignSimulation);

// Meters (the device API).
apiSchema('OtaCheckInAnswer', otaCheckInAnswer);
apiSchema('OtaSignedManifestEnvelope', OTA_EXECUTION_MANIFEST.responses[200]);
apiSchema('OtaDownloadUrlRequest', otaDownloadUrlRequest, 'input');
apiSchema('OtaDownloadUrlAnswer', otaDownloadUrlAnswer);
apiSchema('OtaStatusReport', otaStatusReport, 'input');
apiSchema('OtaStatusAnswer', otaStatusAnswer);
apiSchema('OtaSignedReceipt', signedReceipt, 'input');
apiSchema('OtaReceiptAnswer', otaReceiptAnswer);

// The device API's refusals: `code` is one of a list per route and status; one component per list.
apiSchema('OtaCertificateRefusal', OTA_CHECK_IN.responses[401]);
apiSchema('OtaMeterNotActiveRefusal', OTA_CHECK_IN.responses[403]);
apiSchema('OtaUnavailableRefusal', OTA_CHECK_IN.responses[503]);
apiSchema('OtaInvalidQueryRefusal', OTA_CHECK_IN.responses[400]);
apiSchema('OtaInvalidBodyRefusal', OTA_DOWNLOAD_URL.responses[400]);
apiSchema('OtaMalformedJsonRefusal', OTA_EXECUTION_RECEIPT.responses[400]);
apiSchema('OtaBodyTooLargeRefusal', OTA_DOWNLOAD_URL.responses[413]);
apiSchema('OtaUnsupportedMediaTypeRefusal', OTA_DOWNLOAD_URL.responses[415]);
apiSchema('OtaExecutionNotFoundRefusal', OTA_DOWNLOAD_URL.responses[404]);
apiSchema('OtaDownloadUrlConflictRefusal', OTA_DOWNLOAD_URL.responses[409]);
apiSchema('OtaDownloadUrlRateLimitedRefusal', OTA_DOWNLOAD_URL.responses[429]);
apiSchema('OtaStatusConflictRefusal', OTA_EXECUTION_STATUS.responses[409]);
apiSchema('OtaStatusLimitReachedRefusal', OTA_EXECUTION_STATUS.responses[429]);
apiSchema('OtaExecutionClosedRefusal', OTA_EXECUTION_RECEIPT.responses[409]);
apiSchema('OtaReceiptRefusal', OTA_EXECUTION_RECEIPT.responses[422]);
