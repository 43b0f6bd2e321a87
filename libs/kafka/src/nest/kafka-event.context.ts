import { BaseRpcContext } from '@nestjs/microservices';
import type { EventMeta } from '../event-consumer';

/** What a Kafka event handler can ask for with `@Ctx()`: topic, partition, offset, key, headers, attempt. */
export class KafkaEventContext extends BaseRpcContext<[EventMeta]> {
  getMeta(): EventMeta {
    return this.args[0];
  }
}
