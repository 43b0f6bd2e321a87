import { z } from 'zod';
import type { TopicContract } from './topic-contract';

/** The JSON Schema of a topic's events, as committed under libs/contracts/schemas. */
export function topicJsonSchema(contract: TopicContract): unknown {
  return z.toJSONSchema(contract.schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' });
}
