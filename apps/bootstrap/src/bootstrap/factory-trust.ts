import { Injectable } from '@nestjs/common';
import { type Certificate, parseCertificate, validateChain } from '@meterkeep/pki';
import type { AnchorRecord } from '../read-model/read-model.records';
import { ReadModelStore } from '../read-model/read-model.store';
import { BootstrapErrors } from './bootstrap.errors';
import { DeviceLookup } from './device-lookup';
import type { PresentedChain } from './presented-chain';
import { chainRefusal } from './refusals';

const PARSED_ANCHORS_MAX = 1_000;

/**
 * Which tenants a factory certificate chain is good for: the tenants with a TRUSTED manufacturer CA
 * that the chain validates to (at `now`, EKU clientAuth). The candidate CAs are found by the
 * fingerprints of the presented CA certificates and by the key identifiers the chain names, so a
 * tenant may have registered the factory's issuing CA or its root.
 */
@Injectable()
export class FactoryTrust {
  private readonly parsed = new Map<string, Certificate>();

  constructor(
    private readonly readModel: ReadModelStore,
    private readonly devices: DeviceLookup,
  ) {}

  /** UNKNOWN_CA, CA_DISABLED, CERTIFICATE_EXPIRED or CERTIFICATE_INVALID when no tenant's CA fits. */
  async trustingTenants(chain: PresentedChain, now: Date): Promise<string[]> {
    const all = [chain.leaf, ...chain.intermediates];
    const fingerprints = chain.intermediates.map((c) => c.fingerprintSha256);
    const keyIds = all.flatMap((c) => {
      const aki = c.extensions.authorityKeyIdentifier;
      return aki ? [aki.toString('hex')] : [];
    });
    const anchors = await this.readModel.anchorsMatching(fingerprints, keyIds);
    if (anchors.length === 0) {
      // A CA nobody trusts, unless the read model is still being rebuilt: then not known yet.
      if (!(await this.devices.isFinalMiss())) return this.devices.notYetKnown();
      throw BootstrapErrors.unknownCa();
    }
    const trusted = anchors.filter((anchor) => anchor.status === 'TRUSTED');
    if (trusted.length === 0) throw BootstrapErrors.caDisabled();

    const byTenant = new Map<string, AnchorRecord[]>();
    for (const anchor of trusted)
      byTenant.set(anchor.tenantId, [...(byTenant.get(anchor.tenantId) ?? []), anchor]);
    const tenants: string[] = [];
    let firstFailure: unknown;
    for (const [tenantId, tenantAnchors] of byTenant) {
      try {
        validateChain({
          leaf: chain.leaf,
          intermediates: chain.intermediates,
          trustAnchors: tenantAnchors.map((anchor) => this.certificateOf(anchor)),
          at: now,
          requiredEku: 'clientAuth',
        });
        tenants.push(tenantId);
      } catch (error) {
        firstFailure ??= error;
      }
    }
    if (tenants.length === 0) throw chainRefusal(firstFailure);
    return tenants;
  }

  private certificateOf(anchor: AnchorRecord): Certificate {
    let certificate = this.parsed.get(anchor.fingerprintSha256);
    if (!certificate) {
      certificate = parseCertificate(anchor.certificatePem);
      if (this.parsed.size >= PARSED_ANCHORS_MAX) this.parsed.clear();
      this.parsed.set(anchor.fingerprintSha256, certificate);
    }
    return certificate;
  }
}
