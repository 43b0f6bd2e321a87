import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import { BootstrapErrors } from './bootstrap.errors';
import type { BootstrapAnswer } from '@meterkeep/contracts';
import { DeviceLookup } from './device-lookup';
import { FactoryTrust } from './factory-trust';
import { OperationalIssuance, parseCsrOrRefuse } from './operational-issuance';
import { presentedChain } from './presented-chain';
import { RateLimiter } from './rate-limiter';
import { admit, preAuthenticationRefusal } from './refusals';

export interface CertificateBootstrapCommand {
  /** The client certificate chain of the handshake, leaf first (DER). */
  peerChain: readonly Buffer[];
  source: string;
  csrPem: string;
}

/**
 * A meter's first contact with its factory certificate: the chain must validate to a CA its tenant
 * trusts, the certificate must be the one that tenant enrolled for it (names are per tenant: the CA
 * and the certificate decide whose meter it is), its state must allow it (ENROLLED, or
 * ACTIVE after losing its operational credential); then its CSR is certified.
 */
@Injectable()
export class BootstrapCertificateMeterUseCase {
  constructor(
    private readonly limits: RateLimiter,
    private readonly trust: FactoryTrust,
    private readonly devices: DeviceLookup,
    private readonly issuance: OperationalIssuance,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(command: CertificateBootstrapCommand, now = new Date()): Promise<BootstrapAnswer> {
    await this.limits.consume('source', command.source);
    const { chain, tenants } = await this.authenticate(command, now);
    // Counted once the chain is proven to come from a trusted factory: a certificate made up with a
    // meter's name cannot spend that meter's allowance (the source limit covers those).
    await this.limits.consume('meter', chain.endpointName);
    const device = await this.devices
      .holderOf(chain.endpointName, tenants, chain.leaf.fingerprintSha256, now)
      .catch((error: unknown) => this.refuseUniformly(error, command, chain.leaf.fingerprintSha256));
    admit(device);
    await this.limits.rebootstrap(device);
    return this.issuance.issue({
      tenantId: device.tenantId,
      endpointName: chain.endpointName,
      csr: parseCsrOrRefuse(command.csrPem),
      kind: 'bootstrap',
      forbiddenSpki: chain.leaf.spki,
      now,
    });
  }

  /**
   * The presented chain and the tenants whose CA it validates to. Until then the caller is anonymous:
   * every refusal is the same answer (distinct ones would tell a prober which OEM keys some tenant
   * trusts), and its reason goes to the log, with the certificate's fingerprint and the source.
   */
  private async authenticate(command: CertificateBootstrapCommand, now: Date) {
    let fingerprintSha256: string | undefined;
    try {
      const chain = presentedChain(command.peerChain);
      fingerprintSha256 = chain.leaf.fingerprintSha256;
      return { chain, tenants: await this.trust.trustingTenants(chain, now) };
    } catch (error) {
      return this.refuseUniformly(error, command, fingerprintSha256);
    }
  }

  /**
   * A refusal of the certificate itself (its chain, or a factory credential its operator revoked) is
   * answered as one, its reason logged with the fingerprint and the source; other errors pass through.
   */
  private refuseUniformly(
    error: unknown,
    command: CertificateBootstrapCommand,
    fingerprintSha256: string | undefined,
  ): never {
    const refusal = preAuthenticationRefusal(error);
    if (!refusal) throw error;
    this.logger.info(
      {
        audit: 'bootstrap.certificate-refused',
        reason: refusal.code,
        detail: refusal.message,
        source: command.source,
        ...(fingerprintSha256 !== undefined && { fingerprintSha256 }),
      },
      'bootstrap: certificate refused before authentication',
    );
    throw BootstrapErrors.certificateNotTrusted();
  }
}
