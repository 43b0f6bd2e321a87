import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { type PeerCertificate, checkServerIdentity } from 'node:tls';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { z } from 'zod';
import type { Logger } from '@meterkeep/observability';
import {
  type HttpResponses,
  type HttpRouteContract,
  type PathParamNames,
  type PathParams,
  successStatus,
} from '@meterkeep/contracts';
import { DomainError } from '../errors/domain-error';
import type { ServiceCredential } from './service-credential';
import { type UpstreamFailure, UpstreamUnavailableError } from './upstream-unavailable.error';

export interface InternalHttpClientOptions {
  /** The service called, for logs and errors: 'enrollment'. */
  service: string;
  /**
   * Where its internal routes answer (https, its internal listener): ENROLLMENT_INTERNAL_URL and the
   * like. Only its origin is logged. The server must present a platform certificate naming `service`.
   */
  baseUrl: string;
  credential: ServiceCredential;
  /** How long one call may take, answer included; 3 s. */
  timeoutMs?: number;
  /** Largest answer read, in bytes; 1 MiB. A larger one is an invalid answer. */
  maxAnswerBytes?: number;
  /**
   * The caller's own refusal for "no usable answer" (from its errors file), kept as the code and
   * message of the UpstreamUnavailableError; by default `<SERVICE>_UNAVAILABLE`, retry after 5 s.
   */
  unavailable?: () => DomainError;
  logger?: Pick<Logger, 'warn'>;
}

type AnyRoute = HttpRouteContract<string, z.ZodType | undefined, HttpResponses>;

/** What a call on a route takes: its path parameters and its body, as the contract types them. */
export type RouteInput<R extends AnyRoute> =
  R extends HttpRouteContract<infer P, infer Req, HttpResponses>
    ? ([PathParamNames<P>] extends [never] ? { params?: undefined } : { params: PathParams<P> }) &
        (Req extends z.ZodType ? { body: z.input<Req> } : { body?: undefined }) & {
          query?: Readonly<Record<string, string>>;
        }
    : never;

type Statuses<R extends AnyRoute> = keyof R['responses'] & number;
type SuccessOf<R extends AnyRoute> = Extract<Statuses<R>, 200 | 201 | 202 | 203 | 204>;

/** An answer with the status it came with, its body parsed by the contract's schema for that status. */
export type RouteAnswer<R extends AnyRoute, S extends Statuses<R>> =
  S extends Statuses<R> ? { readonly status: S; readonly body: z.output<R['responses'][S]> } : never;

const DEFAULT_TIMEOUT_MS = 3_000;
const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;
const tracer = trace.getTracer('@meterkeep/service-runtime');

/**
 * The one client for internal service-to-service routes. The route's contract (libs/contracts) gives
 * the path, checks the request before it leaves and parses the answer; the credential identifies this
 * service; the trace context travels as W3C traceparent. Anything but an answer the caller expects
 * (unreachable, timeout, 503 or another status, an answer that breaks the contract) is one
 * UpstreamUnavailableError, retryable. A request that breaks the contract is a programming error
 * (HttpContractViolationError-like Error), never sent.
 */
export class InternalHttpClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;

  constructor(private readonly options: InternalHttpClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'https:')
      throw new Error(`${options.service}'s internal URL must be https:// (mutual TLS): ${this.base.origin}`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  }

  /** Calls a route and gives its success answer; any other outcome is an UpstreamUnavailableError. */
  async call<R extends AnyRoute>(
    route: R,
    input: RouteInput<R>,
  ): Promise<RouteAnswer<R, SuccessOf<R>>['body']> {
    const answer = await this.exchange(route, input, []);
    return answer.body;
  }

  /**
   * Calls a route and gives its success answer or one of the `accept`ed statuses the route declares
   * (such as introspection's 401 for an unknown key), each parsed by its schema.
   */
  async exchange<R extends AnyRoute, S extends Statuses<R> = never>(
    route: R,
    input: RouteInput<R>,
    accept: readonly S[],
  ): Promise<RouteAnswer<R, SuccessOf<R> | S>> {
    const expected = new Set<number>([successStatus(route), ...accept]);
    const url = new URL(route.pathFor(input.params ?? {}), this.base);
    for (const [name, value] of Object.entries(input.query ?? {})) url.searchParams.set(name, value);
    const init = this.request(route, input.body);

    return tracer.startActiveSpan(
      `${route.method} ${route.path}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': route.method,
          'url.template': route.path,
          'server.address': this.base.hostname,
          'server.port': Number(this.base.port || 443),
          'meterkeep.route': route.name,
        },
      },
      async (span) => {
        try {
          // The callee continues this span's trace: its SERVER span is this CLIENT span's child.
          const carrier: Record<string, string> = {};
          propagation.inject(context.active(), carrier);
          for (const [name, value] of Object.entries(carrier)) init.headers.set(name, value);
          // This span is the call: the http instrumentation adds no second CLIENT span (named by method
          // only) under it, nor a traceparent of its own.
          const { status, body } = await context.with(suppressTracing(context.active()), () =>
            this.send(route, url, init, expected),
          );
          span.setAttribute('http.response.status_code', status);
          // The body was parsed by the schema the route declares for this status just above.
          return { status, body } as RouteAnswer<R, SuccessOf<R> | S>;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          if (error instanceof UpstreamUnavailableError) span.setAttribute('error.type', error.failure);
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  private request(route: AnyRoute, body: unknown): { method: string; headers: Headers; body?: string } {
    const headers = new Headers({ accept: 'application/json' });
    const init: { method: string; headers: Headers; body?: string } = { method: route.method, headers };
    if (route.request !== undefined) {
      const checked = route.request.safeParse(body);
      if (!checked.success)
        throw new Error(
          `The request for ${route.name} breaks its contract: ${checked.error.issues
            .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
            .join('; ')}`,
        );
      headers.set('content-type', 'application/json');
      init.body = JSON.stringify(checked.data);
    }
    return init;
  }

  private async send(
    route: AnyRoute,
    url: URL,
    init: { method: string; headers: Headers; body?: string },
    expected: ReadonlySet<number>,
  ): Promise<{ status: number; body: unknown }> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(url, init, signal);
    } catch (error) {
      throw this.failure(route, signal.aborted ? 'timeout' : 'unreachable', { error });
    }
    if (!expected.has(response.status)) {
      await response.body?.cancel().catch(() => undefined);
      throw this.failure(route, 'status', {
        status: response.status,
        retryAfter: retryAfterSeconds(response.headers.get('retry-after')),
      });
    }
    let text: string | undefined;
    try {
      text = await readBounded(response, this.maxAnswerBytes);
    } catch (error) {
      throw this.failure(route, signal.aborted ? 'timeout' : 'unreachable', {
        error,
        status: response.status,
      });
    }
    const schema = route.responses[response.status];
    const parsed = schema?.safeParse(text === undefined ? undefined : parseJson(text));
    if (!parsed?.success) throw this.failure(route, 'invalid-answer', { status: response.status });
    return { status: response.status, body: parsed.data };
  }

  /** One request over mutual TLS with this service's certificate, answered as a fetch Response. */
  private fetch(
    url: URL,
    init: { method: string; headers: Headers; body?: string },
    signal: AbortSignal,
  ): Promise<Response> {
    const expectedPeer = this.options.service;
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        url,
        {
          method: init.method,
          headers: Object.fromEntries(init.headers),
          agent: this.options.credential.agent,
          signal,
          // The host name as usual, and the service: a platform certificate of another service is refused.
          checkServerIdentity: (host: string, certificate: PeerCertificate) =>
            checkServerIdentity(host, certificate) ??
            (certificate.subject.CN === expectedPeer
              ? undefined
              : new Error(
                  `the server's certificate names ${String(certificate.subject.CN)}, not ${expectedPeer}`,
                )),
        },
        (incoming: IncomingMessage) => resolve(toResponse(incoming)),
      );
      outgoing.once('error', reject);
      outgoing.end(init.body);
    });
  }

  private failure(
    route: AnyRoute,
    failure: UpstreamFailure,
    { error, status, retryAfter }: { error?: unknown; status?: number; retryAfter?: number },
  ): UpstreamUnavailableError {
    const { service } = this.options;
    this.options.logger?.warn(
      { service, route: route.name, target: this.base.origin, failure, status, err: error },
      `Internal call to ${service} failed: ${failure}`,
    );
    const base =
      this.options.unavailable?.() ??
      new DomainError(
        'unavailable',
        `${service.toUpperCase().replace(/-/g, '_')}_UNAVAILABLE`,
        `${service} is unavailable; retry later`,
        undefined,
        5,
      );
    return new UpstreamUnavailableError(
      base,
      service,
      route.name,
      failure,
      status,
      retryAfter ?? base.retryAfterSeconds,
    );
  }
}

function toResponse(incoming: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i < incoming.rawHeaders.length; i += 2)
    headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
  const status = incoming.statusCode ?? 502;
  const empty = status === 204 || status === 304;
  if (empty) incoming.resume();
  return new Response(empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), {
    status,
    headers,
  });
}

/** Retry-After in seconds (the HTTP-date form is not used between our services); 1 h at most. */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || !/^\d{1,5}$/.test(header.trim())) return undefined;
  return Math.min(Number(header.trim()), 3_600);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The answer's text, or undefined when it is larger than `limit` bytes (then it is not read on). */
async function readBounded(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await response.body.cancel();
    return undefined;
  }
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
