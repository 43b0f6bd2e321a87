import {
  ApiKeyConfigError,
  MeterkeepApiError,
  MeterkeepTransportError,
  apiKeyFromEnv,
  privacyClient,
} from '@meterkeep/client';

/** A certificate is a few KiB to a few hundred; anything larger is refused before it is parsed. */
export const MAX_CERTIFICATE_BYTES = 1024 * 1024;

/** The certificate could not be fetched: said in one line, never with the API key. */
export class CertificateFetchError extends Error {}

export interface CertificateSource {
  erasureId: string;
  subjectRef: string;
}

/**
 * The signed certificate of an erasure, from privacy's operator API (GET
 * /v1/subjects/{subjectRef}/erasures/{erasureId}/certificate), as the API key's tenant sees it.
 * Untrusted until its signature checks against a key the auditor holds: the answer is bounded
 * (MAX_CERTIFICATE_BYTES) and only parsed as JSON here. TLS is verified as every CLI's (Node's trust
 * store; NODE_EXTRA_CA_CERTS for a private CA).
 */
export async function fetchCertificate(
  source: CertificateSource,
  env: NodeJS.ProcessEnv,
  deps: { readFile: (path: string) => Promise<string>; fetch?: typeof fetch },
): Promise<unknown> {
  const baseUrl = env.METERKEEP_PRIVACY_URL;
  if (!baseUrl) throw new CertificateFetchError('METERKEEP_PRIVACY_URL is not set');
  const timeout = Number(env.METERKEEP_TIMEOUT_MS ?? 30_000);
  const where = `erasure ${source.erasureId} of subject ${source.subjectRef}`;
  let client;
  try {
    client = privacyClient({
      baseUrl,
      apiKey: await apiKeyFromEnv(env, deps.readFile),
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 30_000,
      maxResponseBytes: MAX_CERTIFICATE_BYTES,
      ...(deps.fetch && { fetch: deps.fetch }),
    });
  } catch (error) {
    if (error instanceof ApiKeyConfigError) throw new CertificateFetchError(error.message);
    if (error instanceof TypeError)
      throw new CertificateFetchError(`METERKEEP_PRIVACY_URL: ${error.message}`);
    throw error;
  }
  try {
    return await client.ok(
      client.api.GET('/v1/subjects/{subjectRef}/erasures/{erasureId}/certificate', {
        params: { path: { subjectRef: source.subjectRef, erasureId: source.erasureId } },
      }),
    );
  } catch (error) {
    if (error instanceof MeterkeepApiError)
      throw new CertificateFetchError(`privacy refused the certificate of ${where}: ${error.message}`);
    if (error instanceof MeterkeepTransportError)
      throw new CertificateFetchError(`cannot fetch the certificate of ${where}: ${error.message}`);
    if (error instanceof SyntaxError)
      throw new CertificateFetchError(`the certificate of ${where} is not JSON: ${error.message}`);
    throw error;
  }
}
