import {
  AUDIT_EVENTS,
  PRIVACY_CONSENT_STATE,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_CONSENTS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_OCCUPANCIES,
  PRIVACY_RELEASE_RECALLS,
  type TopicContract,
} from '@meterkeep/contracts';
import { DATABASE } from '@meterkeep/db/nest';
import { EventProducer } from '@meterkeep/kafka';
import { OutboxModule as SharedOutboxModule } from '@meterkeep/outbox/nest';
import { LOGGER } from '@meterkeep/service-runtime';

/** The topics this service publishes through its outbox. */
export const OUTBOX_TOPICS: readonly TopicContract[] = [
  PRIVACY_OCCUPANCIES,
  PRIVACY_CONSENTS,
  PRIVACY_CONSENT_STATE,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURES,
  PRIVACY_RELEASE_RECALLS,
  AUDIT_EVENTS,
];

/** Privacy's transactional outbox (@meterkeep/outbox): the `outbox` table of its own schema. */
export const OutboxModule = SharedOutboxModule.forRoot({
  topics: OUTBOX_TOPICS,
  database: DATABASE,
  publisher: EventProducer,
  logger: LOGGER,
});
