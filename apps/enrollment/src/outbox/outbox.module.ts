import {
  AUDIT_EVENTS,
  DEVICE_LIFECYCLE,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  type TopicContract,
} from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer } from '@meterkeep/kafka';
import { OutboxModule as SharedOutboxModule } from '@meterkeep/outbox/nest';
import { LOGGER } from '@meterkeep/service-runtime';

/** The topics this service publishes through its outbox. */
export const OUTBOX_TOPICS: readonly TopicContract[] = [
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
  ENROLLMENT_API_KEY_REVOCATIONS,
  ENROLLMENT_DECOMMISSION_REQUESTS,
  DEVICE_LIFECYCLE,
  AUDIT_EVENTS,
];

/** Enrollment's transactional outbox (@meterkeep/outbox): the `outbox` table of its own schema. */
export const OutboxModule = SharedOutboxModule.forRoot({
  topics: OUTBOX_TOPICS,
  database: DATABASE,
  publisher: EventProducer,
  logger: LOGGER,
});
