import {
  ALL_TOPICS,
  PLATFORM_SERVICES,
  type PlatformService,
  type TopicContract,
  deadLetterTopicName,
} from '@meterkeep/contracts';
import {
  type Kafka,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
} from 'kafkajs';

export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'DELETE';

/** One ALLOW rule for one principal, in the terms of the Kafka ACL API. */
export interface AclGrant {
  resource: 'topic' | 'group' | 'transactional-id';
  name: string;
  pattern: 'literal' | 'prefixed';
  operation: AclOperation;
}

/**
 * What a service's principal may do, derived from the contracts (who produces, who consumes each
 * topic), so the table is written once:
 * - WRITE on the topics it produces; READ on those it consumes, and WRITE on their dead-letter topics;
 * - DESCRIBE on every topic it touches and its dead-letter topic (metadata, offsets, ensureTopics' check);
 * - its consumer groups and transactional ids: those whose name starts with the service's name.
 * Nothing else: no CREATE (topics are the admin's), no cluster rights.
 */
export function serviceAclGrants(
  service: PlatformService,
  topics: readonly TopicContract[] = ALL_TOPICS,
): AclGrant[] {
  const grants: AclGrant[] = [];
  const topic = (name: string, operation: AclOperation) =>
    grants.push({ resource: 'topic', name, pattern: 'literal', operation });
  for (const contract of topics) {
    const produces = contract.producers.includes(service);
    const consumes = contract.consumers.includes(service);
    if (!produces && !consumes) continue;
    const deadLetter = deadLetterTopicName(contract.name);
    topic(contract.name, 'DESCRIBE');
    topic(deadLetter, 'DESCRIBE');
    if (produces) topic(contract.name, 'WRITE');
    if (consumes) {
      topic(contract.name, 'READ');
      topic(deadLetter, 'WRITE');
    }
  }
  for (const operation of ['READ', 'DESCRIBE', 'DELETE'] as const)
    grants.push({ resource: 'group', name: service, pattern: 'prefixed', operation });
  for (const operation of ['WRITE', 'DESCRIBE'] as const)
    grants.push({ resource: 'transactional-id', name: service, pattern: 'prefixed', operation });
  return grants;
}

const RESOURCE = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
} as const;

/**
 * Creates every service's ACLs (idempotent: the broker keeps one copy of an identical rule), with a
 * connection that may alter ACLs (the admin principal). `principal` names each service's user.
 */
export async function applyServiceAcls(
  kafka: Kafka,
  principal: (service: PlatformService) => string,
  topics: readonly TopicContract[] = ALL_TOPICS,
): Promise<number> {
  const acl = PLATFORM_SERVICES.flatMap((service) =>
    serviceAclGrants(service, topics).map((grant) => ({
      resourceType: RESOURCE[grant.resource],
      resourceName: grant.name,
      resourcePatternType:
        grant.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: `User:${principal(service)}`,
      host: '*',
      operation: AclOperationTypes[grant.operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
    return acl.length;
  } finally {
    await admin.disconnect();
  }
}
