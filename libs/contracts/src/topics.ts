import { AUDIT_EVENTS } from './events/audit.event';
import { BOOTSTRAP_ISSUING_CAS } from './events/bootstrap-issuing-ca.event';
import { BOOTSTRAP_OPERATIONAL_CERTIFICATES } from './events/bootstrap-operational-certificate.event';
import { DEVICE_LIFECYCLE } from './events/device-lifecycle.event';
import { ENROLLMENT_API_KEY_REVOCATIONS } from './events/enrollment-api-key-revocation.event';
import {
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
} from './events/enrollment-decommission.event';
import { ENROLLMENT_DEVICES } from './events/enrollment-device.event';
import { ENROLLMENT_TRUST_ANCHORS } from './events/enrollment-trust-anchor.event';
import { OTA_CAMPAIGNS } from './events/ota-campaign.event';
import { OTA_CAMPAIGNS_V2 } from './events/ota-campaign-v2.event';
import { OTA_DEVICE_STATUS } from './events/ota-device-status.event';
import { OTA_DEVICE_STATUS_V2 } from './events/ota-device-status-v2.event';
import { OTA_FIRMWARE } from './events/ota-firmware.event';
import { PRIVACY_OCCUPANCIES } from './events/privacy-occupancy.event';
import { PRIVACY_CONSENT_STATE, PRIVACY_CONSENTS } from './events/privacy-consent.event';
import { PRIVACY_CONFIRMATIONS } from './events/privacy-confirmation.event';
import { PRIVACY_REQUESTS } from './events/privacy-request.event';
import { PRIVACY_ERASURE_REQUESTS } from './events/privacy-erasure-request.event';
import { PRIVACY_ERASURES } from './events/privacy-erasure.event';
import { PRIVACY_RELEASE_RECALLS } from './events/privacy-release-recall.event';
import { TELEMETRY_READINGS } from './events/telemetry-reading.event';
import { TELEMETRY_REJECTED } from './events/telemetry-rejected.event';
import { TELEMETRY_RELEASED } from './events/telemetry-released.event';
import { TELEMETRY_RELEASED_AGGREGATES } from './events/telemetry-released-aggregate.event';
import type { TopicContract } from './topic-contract';

/** Every topic of the platform: the one place a topic is named. */
export const ALL_TOPICS: readonly TopicContract[] = [
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DECOMMISSION_CONFIRMATIONS,
  BOOTSTRAP_ISSUING_CAS,
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  TELEMETRY_READINGS,
  TELEMETRY_REJECTED,
  TELEMETRY_RELEASED,
  TELEMETRY_RELEASED_AGGREGATES,
  OTA_CAMPAIGNS,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS,
  OTA_DEVICE_STATUS_V2,
  OTA_FIRMWARE,
  PRIVACY_REQUESTS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_OCCUPANCIES,
  PRIVACY_CONSENTS,
  PRIVACY_CONSENT_STATE,
  PRIVACY_RELEASE_RECALLS,
  AUDIT_EVENTS,
];
