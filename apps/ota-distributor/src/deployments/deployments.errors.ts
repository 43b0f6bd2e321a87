import { DomainError } from '@meterkeep/service-runtime';

/** Refusals of the deployment routes. Another tenant's manifest, deployment or device answers as unknown. */
export const DeploymentErrors = {
  manifestNotFound: () => new DomainError('not-found', 'MANIFEST_NOT_FOUND', 'No such manifest'),
  manifestRevoked: () =>
    new DomainError('conflict', 'MANIFEST_REVOKED', 'The manifest was revoked; it is never deployed'),
  /** A fallback that is not the full-image form of the delta manifest's release. */
  fallbackMismatch: (why: string) =>
    new DomainError(
      'unprocessable',
      'FALLBACK_MISMATCH',
      `The fallback manifest is not the full image of the delta's release: ${why}`,
    ),
  /** Each refused device by name, grouped by why. */
  devicesNotEligible: (reasons: Record<string, string[]>) =>
    new DomainError(
      'unprocessable',
      'DEVICES_NOT_ELIGIBLE',
      `Devices not eligible: ${Object.entries(reasons)
        .filter(([, ids]) => ids.length > 0)
        .map(
          ([why, ids]) =>
            `${why}: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ` (+${ids.length - 20})` : ''}`,
        )
        .join('; ')}`,
      reasons,
    ),
  deploymentNotFound: () => new DomainError('not-found', 'DEPLOYMENT_NOT_FOUND', 'No such deployment'),
  deviceNotFound: () => new DomainError('not-found', 'DEVICE_NOT_FOUND', 'This tenant has no such device'),
} as const;
