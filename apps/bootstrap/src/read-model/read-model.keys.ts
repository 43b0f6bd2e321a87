import { createHash } from 'node:crypto';

const PREFIX = 'bootstrap:rm:';
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Every Redis key of the read model: one place, one prefix. */
export const ReadModelKeys = {
  /** Which consumer generation feeds the read model; a fresh one (after a flush) re-reads from offset 0. */
  generation: `${PREFIX}generation`,
  /** Written (= the generation) once that generation has caught up with the topics. */
  epoch: `${PREFIX}epoch`,
  /** Per generation: the last offset handled per `topic:partition`. */
  progress: (generation: string) => `${PREFIX}progress:${generation}`,
  device: (tenantId: string, endpointName: string) => `${PREFIX}device:${tenantId}/${endpointName}`,
  /** The tenants holding a record of this endpoint name. */
  byEndpoint: (endpointName: string) => `${PREFIX}endpoint:${endpointName}`,
  /** The `tenant/endpoint` records naming this PSK identity (hashed: any printable characters). */
  byPskIdentity: (pskIdentity: string) => `${PREFIX}psk:${digest(pskIdentity)}`,
  anchor: (tenantId: string, caId: string) => `${PREFIX}anchor:${tenantId}/${caId}`,
  /** The `tenant/caId` anchors with this certificate fingerprint. */
  anchorsByFingerprint: (fingerprint: string) => `${PREFIX}ca-fp:${fingerprint}`,
  /** The `tenant/caId` anchors whose certificate has this subject key identifier (hex). */
  anchorsByKeyId: (keyId: string) => `${PREFIX}ca-key:${keyId}`,
} as const;

/** Splits a `tenant/rest` member; tenant ids have no slash. */
export function splitMember(member: string): [string, string] | undefined {
  const slash = member.indexOf('/');
  return slash > 0 ? [member.slice(0, slash), member.slice(slash + 1)] : undefined;
}
