/**
 * Where firmware bytes live in the bucket (spec §5.3): verified images content-addressed under their
 * digest, never overwritten; uploads assembled under a staging key of their own until verified.
 * Tenant and class ids are identifiers without '/', so a key never escapes its tenant's prefix.
 */
export const imageKeys = {
  verified: (tenantId: string, classId: string, sha256: string) =>
    `tenants/${tenantId}/firmware/classes/${classId}/images/${sha256}`,
  /** The exact signed envelope bytes of an accepted manifest (sequence, then manifest digest). */
  manifest: (tenantId: string, classId: string, sequenceNumber: number, digest: string) =>
    `tenants/${tenantId}/firmware/classes/${classId}/manifests/${sequenceNumber}-${digest}.json`,
  staging: (tenantId: string, imageId: string) => `tenants/${tenantId}/firmware/staging/${imageId}`,
} as const;
