import {
  AUDIT_EVENTS,
  OTA_CAMPAIGNS_V2,
  OTA_DEVICE_STATUS_V2,
  OTA_FIRMWARE,
  type TopicContract,
} from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer } from '@meterkeep/kafka';
import { OutboxModule as SharedOutboxModule } from '@meterkeep/outbox/nest';
import { LOGGER } from '@meterkeep/service-runtime';
import { CheckInViews } from '../executions/check-in-views';

/** The topics this service publishes through its outbox. */
export const OUTBOX_TOPICS: readonly TopicContract[] = [
  AUDIT_EVENTS,
  OTA_FIRMWARE,
  OTA_DEVICE_STATUS_V2,
  OTA_CAMPAIGNS_V2,
];

/** OTA distributor's transactional outbox (@meterkeep/outbox): the `outbox` table of its own schema. */
export const OutboxModule = SharedOutboxModule.forRoot({
  topics: OUTBOX_TOPICS,
  database: DATABASE,
  publisher: EventProducer,
  logger: LOGGER,
  // A use case's commit returns once this replica's check-in views dropped what it changed.
  afterCommit: CheckInViews,
});
