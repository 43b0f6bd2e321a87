import { type Certificate, parseCertificateChain } from '@meterkeep/pki';
import { BootstrapErrors } from './bootstrap.errors';
import { isEndpointName } from './endpoint-name';

/** The client certificate chain of a TLS handshake, parsed: the leaf names the meter (CN). */
export interface PresentedChain {
  leaf: Certificate;
  intermediates: Certificate[];
  endpointName: string;
}

/**
 * What each connection's chain came to: the listener keeps one chain array per connection, so a
 * client that sends its requests on one connection pays for one parse, refused or not.
 */
const parsedPerConnection = new WeakMap<readonly Buffer[], PresentedChain | { refused: string }>();

/**
 * 401 without a client certificate; 403 CERTIFICATE_INVALID when it does not parse or names no meter.
 * The chain is bounded (count, size, OID and extension limits) before anything in it is decoded.
 */
export function presentedChain(chainDer: readonly Buffer[]): PresentedChain {
  if (chainDer.length === 0) throw BootstrapErrors.clientCertificateRequired();
  let parsed = parsedPerConnection.get(chainDer);
  if (parsed === undefined) {
    parsed = parse(chainDer);
    parsedPerConnection.set(chainDer, parsed);
  }
  if ('refused' in parsed) throw BootstrapErrors.certificateInvalid(parsed.refused);
  return parsed;
}

function parse(chainDer: readonly Buffer[]): PresentedChain | { refused: string } {
  let certificates: Certificate[];
  try {
    certificates = parseCertificateChain(chainDer);
  } catch (error) {
    return { refused: error instanceof Error ? error.message : 'unparseable' };
  }
  const [leaf, ...intermediates] = certificates as [Certificate, ...Certificate[]];
  const endpointName = leaf.subject.commonName;
  if (!isEndpointName(endpointName)) return { refused: "the certificate's CN is not an endpoint name" };
  return { leaf, intermediates, endpointName };
}
