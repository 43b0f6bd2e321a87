import { Injectable } from '@nestjs/common';
import { validateChain } from '@meterkeep/pki';
import { IssuedCertificatesRepository } from '../certificates/issued-certificates.repository';
import { TenantIssuers } from '../pki/tenant-issuers';
import { ReadModelStore } from '../read-model/read-model.store';
import { BootstrapErrors } from './bootstrap.errors';
import type { BootstrapAnswer } from '@meterkeep/contracts';
import { DeviceLookup } from './device-lookup';
import { OperationalIssuance, parseCsrOrRefuse } from './operational-issuance';
import { presentedChain } from './presented-chain';
import { RateLimiter } from './rate-limiter';
import { admit, chainRefusal } from './refusals';

export interface RenewalCommand {
  /** The current operational certificate and its chain, leaf first (DER). */
  peerChain: readonly Buffer[];
  source: string;
  csrPem: string;
}

/**
 * An in-service meter renews with its current operational certificate: it must validate to its
 * tenant's operational root, be one bootstrap issued to this meter, and not be revoked; the meter must
 * still be in service. Any refusal sends the meter back to bootstrap with its factory credential.
 */
@Injectable()
export class RenewCertificateUseCase {
  constructor(
    private readonly limits: RateLimiter,
    private readonly issuers: TenantIssuers,
    private readonly certificates: IssuedCertificatesRepository,
    private readonly readModel: ReadModelStore,
    private readonly devices: DeviceLookup,
    private readonly issuance: OperationalIssuance,
  ) {}

  async execute(command: RenewalCommand, now = new Date()): Promise<BootstrapAnswer> {
    await this.limits.consume('source', command.source);
    const chain = presentedChain(command.peerChain);
    const authorityKeyId = chain.leaf.extensions.authorityKeyIdentifier?.toString('hex');
    const pki = authorityKeyId ? await this.issuers.byIssuingKeyId(authorityKeyId) : undefined;
    if (!pki) throw BootstrapErrors.certificateInvalid('not issued by a tenant issuing CA');
    try {
      validateChain({
        leaf: chain.leaf,
        intermediates: [pki.issuing, ...chain.intermediates],
        trustAnchors: [pki.root],
        at: now,
        requiredEku: 'clientAuth',
      });
    } catch (error) {
      throw chainRefusal(error);
    }
    // Counted once the certificate is proven to be the tenant's (see the bootstrap use case).
    await this.limits.consume('meter', chain.endpointName);
    const issued = await this.certificates.find(pki.tenantId, chain.leaf.serialHex);
    if (!issued || issued.endpoint_name !== chain.endpointName)
      throw BootstrapErrors.certificateInvalid('not an operational certificate issued to this meter');
    if (issued.revoked_at !== null) throw BootstrapErrors.certificateRevoked();
    const device = (await this.readModel.devicesByEndpoint(chain.endpointName)).find(
      (record) => record.tenantId === pki.tenantId,
    );
    if (!device) return this.devices.notYetKnown();
    admit(device);
    return this.issuance.issue({
      tenantId: pki.tenantId,
      endpointName: chain.endpointName,
      csr: parseCsrOrRefuse(command.csrPem),
      kind: 'renewal',
      now,
    });
  }
}
