import type { Socket } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

const MAX_CHAIN = 8;

/**
 * The client certificate chain a TLS peer sent, leaf first, as DER: Node links each certificate to
 * its issuer among those sent, so the walk ends at the last one sent (or a self-issued one). Empty on
 * a plain socket or without a client certificate. The listener turns TLS session resumption off: a
 * resumed session would carry the leaf only.
 */
export function peerCertificateChain(socket: Socket | TLSSocket): Buffer[] {
  if (!('getPeerCertificate' in socket)) return [];
  const leaf: Partial<DetailedPeerCertificate> = socket.getPeerCertificate(true);
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

/** The peer's address as seen on the socket (no proxy headers are trusted). */
export function sourceAddress(socket: Socket): string {
  return socket.remoteAddress ?? 'unknown';
}
