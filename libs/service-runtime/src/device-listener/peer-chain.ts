import type { Socket } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { clientAddress } from './device-edge';

const MAX_CHAIN = 8;

/** Chains read when the handshake completed (see rememberPeerChain), per connection. */
const remembered = new WeakMap<object, Buffer[]>();

/**
 * Reads the client chain as soon as the handshake completes, and keeps it for the connection. Also
 * the cure of a dropped connection: when a peer's chain fails a signature check, OpenSSL leaves that
 * error on its queue (the listener accepts unverified chains, the application judges them) and the
 * next read reported it as a socket error, so the connection was reset before any answer. Reading
 * the certificate clears that queue (Node clears it on return), before any further read.
 */
export function rememberPeerChain(socket: TLSSocket): void {
  remembered.set(socket, readPeerChain(socket));
}

/**
 * The client certificate chain a TLS peer sent, leaf first, as DER: Node links each certificate to
 * its issuer among those sent, so the walk ends at the last one sent (or a self-issued one). Empty on
 * a plain socket or without a client certificate. The listener turns TLS session resumption off: a
 * resumed session would carry the leaf only.
 */
export function peerCertificateChain(socket: Socket | TLSSocket): Buffer[] {
  return remembered.get(socket) ?? readPeerChain(socket);
}

function readPeerChain(socket: Socket | TLSSocket): Buffer[] {
  if (!('getPeerCertificate' in socket)) return [];
  // Null once the socket is gone.
  const leaf: Partial<DetailedPeerCertificate> = socket.getPeerCertificate(true) ?? {};
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = leaf.raw ? (leaf as DetailedPeerCertificate) : undefined;
  while (current?.raw && !seen.has(current.fingerprint256) && chain.length < MAX_CHAIN) {
    seen.add(current.fingerprint256);
    chain.push(Buffer.from(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (!next || next === current) break;
    current = next;
  }
  return chain;
}

/** The client's address: from a trusted balancer's PROXY header (see installDeviceEdge), else the peer's. */
export function sourceAddress(socket: Socket): string {
  return clientAddress(socket);
}
