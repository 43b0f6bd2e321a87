import { AUDIT_ROUTES } from './audit-routes';
import { PRIVACY_DECOMMISSION_ROUTES } from './privacy-decommission-routes';
import { PRIVACY_CONSENT_POLICY_ROUTES } from './privacy-consent-policy-routes';
import { PRIVACY_NETWORK_CELL_ROUTES } from './privacy-network-cell-routes';
import { PRIVACY_RETENTION_ROUTES } from './privacy-retention-routes';
import {
  CERTIFICATE_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
  PSK_BOOTSTRAP,
  PSK_NONCE_ISSUE,
} from './device-bootstrap';
import { FACTORY_CREDENTIAL_REVOKE, FACTORY_CREDENTIAL_ROTATE } from './factory-credential-routes';
import type { HttpRouteContract } from './http-route';
import {
  API_KEYS_INTROSPECT,
  DATA_KEY_GET,
  METER_DATA_KEYS_GET,
  PSK_PROOFS_CHECK,
  SERVER_CERTIFICATES_ISSUE,
} from './internal-routes';
import { OTA_CAMPAIGN_ROUTES } from './ota-campaign-routes';
import { OTA_DEVICE_ROUTES } from './ota-device-routes';
import { OTA_OPERATOR_ROUTES } from './ota-operator-routes';
import { TELEMETRY_BATCH_POST } from './telemetry-batch';

/** Every HTTP route that crosses a process boundary: the one place a route is named. */
export const ALL_HTTP_ROUTES: readonly HttpRouteContract[] = [
  PSK_PROOFS_CHECK,
  API_KEYS_INTROSPECT,
  METER_DATA_KEYS_GET,
  DATA_KEY_GET,
  SERVER_CERTIFICATES_ISSUE,
  CERTIFICATE_BOOTSTRAP,
  PSK_NONCE_ISSUE,
  PSK_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
  TELEMETRY_BATCH_POST,
  FACTORY_CREDENTIAL_REVOKE,
  FACTORY_CREDENTIAL_ROTATE,
  ...OTA_OPERATOR_ROUTES,
  ...OTA_CAMPAIGN_ROUTES,
  ...OTA_DEVICE_ROUTES,
  ...AUDIT_ROUTES,
  ...PRIVACY_RETENTION_ROUTES,
  ...PRIVACY_DECOMMISSION_ROUTES,
  ...PRIVACY_NETWORK_CELL_ROUTES,
  ...PRIVACY_CONSENT_POLICY_ROUTES,
];
