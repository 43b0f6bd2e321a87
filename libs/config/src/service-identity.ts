import { z } from 'zod';

/**
 * Each service's own identity between services (mutual TLS with the platform CA): its certificate
 * (CN = its service name, EKU serverAuth and clientAuth) and key, and the platform CA it trusts peers
 * by. In Kubernetes cert-manager mounts them; locally libs/local-stack mints them.
 */
export const serviceIdentityEnv = {
  /** This service's certificate, PEM (leaf first); its CN is the name peers authorise it by. */
  SERVICE_TLS_CERT_FILE: z.string().min(1),
  /** Its P-256 private key, PEM. */
  SERVICE_TLS_KEY_FILE: z.string().min(1),
  /** The platform CA, PEM: the only CA a peer's certificate is accepted from. */
  PLATFORM_CA_FILE: z.string().min(1),
};

/** The internal listeners (mutual TLS, internal routes only), beside each service's plain PORT. */
export const INTERNAL_PORTS = {
  enrollment: 3101,
  bootstrap: 3102,
  privacy: 3105,
} as const;
export type InternalService = keyof typeof INTERNAL_PORTS;

/** The internal listener's port (`INTERNAL_PORT`); 0 takes any free port (tests). */
export function internalListenerEnv(service: InternalService) {
  return {
    INTERNAL_PORT: z.coerce.number().int().min(0).max(65_535).default(INTERNAL_PORTS[service]),
  };
}

/** Where a service's internal routes answer on this machine, at its default internal port. */
export function defaultInternalUrl(service: InternalService): string {
  return `https://127.0.0.1:${INTERNAL_PORTS[service]}`;
}

/** The address of another service's internal listener: https only (mutual TLS). */
export const internalUrlSchema = z.url({
  protocol: /^https$/,
  error: 'must be an https:// URL (internal routes are served over mutual TLS)',
});

/**
 * A JSON object from service names (as their platform certificates name them) to lists of entries,
 * such as the host names or tenants each calling service is granted: `{"<service>": [...]}`.
 */
export function perServiceGrantsSchema(entry: z.ZodType<string>, what: string) {
  return z
    .string()
    .transform((value, context) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: `must be JSON: {"<service>": ["<${what}>", ...]}` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/), z.array(entry).max(10_000)));
}
