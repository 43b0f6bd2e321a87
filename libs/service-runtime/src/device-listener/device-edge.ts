import type { RequestListener, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@meterkeep/observability';
import { type DomainError, httpStatusOf } from '../errors/domain-error';
import { PROXY_V2_MAX_BYTES, parseProxyV2, sourceKey } from './proxy-protocol';

export interface DeviceEdgeOptions {
  /**
   * PROXY protocol v2 before the TLS bytes, believed only from these peer addresses (the passthrough
   * load balancers); any other peer is a direct client. Off when absent.
   */
  proxyProtocol?: { trustedProxies: readonly string[]; headerTimeoutMs?: number };
  /** Connections open at once from one source (an IPv6 /64 counts as one); past it, `refuse` answers. */
  perSource?: { maxConnections: number; refuse: RequestListener };
}

/** The edge as a service's config sets it (DEVICE_* variables, see deviceEdgeEnv in libs/config). */
export function deviceEdgeFromEnv(
  env: {
    DEVICE_PROXY_PROTOCOL: boolean;
    DEVICE_TRUSTED_PROXIES?: string[] | undefined;
    DEVICE_MAX_CONNECTIONS_PER_SOURCE: number;
  },
  refuse: RequestListener,
): DeviceEdgeOptions {
  return {
    ...(env.DEVICE_PROXY_PROTOCOL && { proxyProtocol: { trustedProxies: env.DEVICE_TRUSTED_PROXIES ?? [] } }),
    perSource: { maxConnections: env.DEVICE_MAX_CONNECTIONS_PER_SOURCE, refuse },
  };
}

/**
 * Answers a refusal as `{code, message}` (with Retry-After when it has one) on Node's response, before
 * or without Nest. The connection closes unless the request's body was read.
 */
export function answerRefusal(response: ServerResponse, error: DomainError, bodyRead = false): void {
  if (error.retryAfterSeconds !== undefined)
    response.setHeader('Retry-After', String(error.retryAfterSeconds));
  if (!bodyRead) response.setHeader('Connection', 'close');
  response.statusCode = httpStatusOf(error.kind);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.end(JSON.stringify({ code: error.code, message: error.message }));
}

/** The client's address per TLS connection, as PROXY protocol gave it. */
const proxiedSources = new WeakMap<object, string>();
/** Connections past their source's allowance: answered by `refuse`, then closed. */
const overAllowance = new WeakSet<object>();

/** The client's address: from a trusted PROXY header, else the socket's peer. */
export function clientAddress(socket: Socket): string {
  return proxiedSources.get(socket) ?? socket.remoteAddress ?? 'unknown';
}

const DEFAULT_HEADER_TIMEOUT_MS = 5_000;

/**
 * The device edge of a mutual-TLS listener: reads the PROXY header of connections from trusted
 * balancers before TLS starts (a malformed or missing header closes the connection: nothing else can
 * answer before TLS), and counts connections per source. Returns the request handler to serve.
 */
export function installDeviceEdge(
  server: Server,
  handler: RequestListener,
  options: DeviceEdgeOptions,
  logger: Logger,
): RequestListener {
  const proxy = options.proxyProtocol;
  /** Source addresses by balancer-side peer (address and port), until that TCP connection closes. */
  const byPeer = new Map<string, string>();
  const peerOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

  if (proxy) {
    const trusted = new Set(proxy.trustedProxies.map((address) => sourceKey(address)));
    const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    const startTls = (socket: Socket) => {
      for (const listener of tlsListeners) listener.call(server, socket);
    };
    server.on('connection', (socket: Socket) => {
      if (!trusted.has(sourceKey(socket.remoteAddress ?? ''))) return startTls(socket);
      readProxyHeader(socket, proxy.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS, (error, source) => {
        if (error) {
          logger.debug({ err: error, peer: socket.remoteAddress }, 'PROXY header refused; connection closed');
          socket.destroy();
          return;
        }
        if (source) {
          const peer = peerOf(socket);
          byPeer.set(peer, source);
          socket.once('close', () => byPeer.delete(peer));
        }
        startTls(socket);
      });
    });
  }

  const open = new Map<string, number>();
  server.on('secureConnection', (socket: TLSSocket) => {
    const proxied = byPeer.get(peerOf(socket));
    if (proxied) proxiedSources.set(socket, proxied);
    if (!options.perSource) return;
    const key = sourceKey(clientAddress(socket));
    const count = (open.get(key) ?? 0) + 1;
    open.set(key, count);
    if (count > options.perSource.maxConnections) overAllowance.add(socket);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });

  const perSource = options.perSource;
  if (!perSource) return handler;
  return (request, response) => {
    if (!overAllowance.has(request.socket)) return handler(request, response);
    response.shouldKeepAlive = false;
    perSource.refuse(request, response);
  };
}

/** Reads exactly the PROXY header off `socket` (what follows stays for TLS); bounded in bytes and time. */
function readProxyHeader(
  socket: Socket,
  timeoutMs: number,
  done: (error: Error | undefined, source?: string) => void,
): void {
  let buffered = Buffer.alloc(0);
  const finish = (error: Error | undefined, source?: string) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    done(error, source);
  };
  const timer = setTimeout(() => finish(new Error('no PROXY header in time')), timeoutMs);
  const onError = (error: Error) => finish(error);
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    let parsed;
    try {
      parsed = parseProxyV2(buffered.subarray(0, PROXY_V2_MAX_BYTES));
    } catch (error) {
      return finish(error as Error);
    }
    if (parsed.kind === 'incomplete') return;
    socket.pause();
    const rest = buffered.subarray(parsed.length);
    // TLS takes what is buffered on the socket as received (a ClientHello sent with the header).
    if (rest.length > 0) socket.unshift(rest);
    finish(undefined, parsed.kind === 'proxy' ? parsed.sourceAddress : undefined);
  };
  socket.on('data', onData);
  socket.on('error', onError);
}
