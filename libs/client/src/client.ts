import createClient, { type Client } from 'openapi-fetch';
import { MeterkeepTransportError, apiErrorFrom } from './errors';
import type { paths as BootstrapPaths } from './generated/bootstrap';
import type { paths as EnrollmentPaths } from './generated/enrollment';
import type { paths as OtaDistributorPaths } from './generated/ota-distributor';
import type { paths as PrivacyPaths } from './generated/privacy';

export interface ClientOptions {
  /** The service's operator API, e.g. `https://enrollment.meterkeep.example`. */
  baseUrl: string;
  /** `mk_<keyId>_<secret>`, sent as `Authorization: Bearer`; never put in an error or a log. */
  apiKey?: string;
  /** Per request, headers and body included (default 30 s). */
  timeoutMs?: number;
  /** The largest answer read (default 64 MiB): a peer's answer is bounded like any input. */
  maxResponseBytes?: number;
  /** For tests and custom agents; globalThis.fetch by default. */
  fetch?: typeof fetch;
}

/** What an openapi-fetch call resolves to. */
interface CallResult<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/**
 * A typed client of one service: `api` is the openapi-fetch client generated from the service's
 * committed OpenAPI document; `ok` turns its result into the data or a MeterkeepApiError.
 */
export class MeterkeepClient<Paths extends object> {
  readonly api: Client<Paths>;
  private readonly apiKey: string | undefined;

  constructor(options: ClientOptions) {
    const url = parseBaseUrl(options.baseUrl);
    this.apiKey = options.apiKey;
    this.api = createClient<Paths>({
      baseUrl: url.href.replace(/\/$/, ''),
      fetch: boundedFetch(options),
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    });
  }

  /** The call's data; a refusal throws MeterkeepApiError with the server's code. */
  async ok<D>(pending: Promise<CallResult<D>>): Promise<D> {
    const { data, error, response } = await pending;
    if (!response.ok) throw apiErrorFrom(response, error, this.apiKey);
    return data as D;
  }
}

export type EnrollmentClient = MeterkeepClient<EnrollmentPaths>;
export type PrivacyClient = MeterkeepClient<PrivacyPaths>;
export type OtaDistributorClient = MeterkeepClient<OtaDistributorPaths>;
export type BootstrapClient = MeterkeepClient<BootstrapPaths>;

export const enrollmentClient = (options: ClientOptions): EnrollmentClient => new MeterkeepClient(options);
export const privacyClient = (options: ClientOptions): PrivacyClient => new MeterkeepClient(options);
export const otaDistributorClient = (options: ClientOptions): OtaDistributorClient =>
  new MeterkeepClient(options);
/** Bootstrap's public routes (its server CA, tenants' CRLs); the device API needs mutual TLS. */
export const bootstrapClient = (options: ClientOptions): BootstrapClient => new MeterkeepClient(options);

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError('The base URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('The base URL is not http(s)');
  // A secret in a URL ends up in logs and error messages: the key goes in a header only.
  if (url.username || url.password) throw new TypeError('The base URL must not carry credentials');
  if (url.search || url.hash) throw new TypeError('The base URL must not carry a query or fragment');
  return url;
}

const describe = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return error instanceof Error ? error.message : String(error);
};

/** fetch with a deadline and a cap on the answer's size; transport failures as MeterkeepTransportError. */
function boundedFetch(options: ClientOptions): (request: Request) => Promise<Response> {
  const base = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  return async (request) => {
    const where = `${request.method} ${new URL(request.url).origin}${new URL(request.url).pathname}`;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await base(request, { signal });
    } catch (error) {
      throw new MeterkeepTransportError(`${where}: ${describe(error)}`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new MeterkeepTransportError(`${where}: the answer exceeds ${maxBytes} bytes`);
    }
    if (!response.body) return response;
    let seen = 0;
    const capped = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes)
            controller.error(new MeterkeepTransportError(`${where}: the answer exceeds ${maxBytes} bytes`));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(capped, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
