import { Injectable } from '@nestjs/common';
import { claimLapsed } from '../read-model/read-model.records';
import { ReadModelStore } from '../read-model/read-model.store';
import { BootstrapErrors } from './bootstrap.errors';
import type { BootstrapAnswer, PskBootstrapRequest } from '@meterkeep/contracts';
import { DeviceLookup } from './device-lookup';
import { NonceStore } from './nonce-store';
import { OperationalIssuance, parseCsrOrRefuse } from './operational-issuance';
import { PskProofClient } from './psk-proof.client';
import { pskProofMessage } from './psk-proof';
import { RateLimiter } from './rate-limiter';
import { admit } from './refusals';

/**
 * A PSK meter's bootstrap: the nonce is consumed first (whatever follows, it cannot be used again),
 * then enrollment checks the HMAC proof over the nonce and the CSR, and the meter's state is checked
 * as for certificate meters.
 */
@Injectable()
export class BootstrapPskMeterUseCase {
  constructor(
    private readonly limits: RateLimiter,
    private readonly nonces: NonceStore,
    private readonly readModel: ReadModelStore,
    private readonly devices: DeviceLookup,
    private readonly proofs: PskProofClient,
    private readonly issuance: OperationalIssuance,
  ) {}

  async execute(
    command: PskBootstrapRequest & { source: string },
    now = new Date(),
  ): Promise<BootstrapAnswer> {
    await this.limits.consume('source', command.source);
    if (!(await this.nonces.consume(command.nonce, command.pskIdentity)))
      throw BootstrapErrors.nonceInvalid();
    const csr = parseCsrOrRefuse(command.csrPem);
    const records = await this.readModel.devicesByPskIdentity(command.pskIdentity);
    if (records.length === 0) return this.devices.notYetKnown();
    const verdict = await this.proofs.check({
      pskIdentity: command.pskIdentity,
      message: pskProofMessage(command.nonce, csr.der),
      proof: command.proof,
    });
    if (!verdict.valid) throw BootstrapErrors.badPskProof();
    // Counted once the proof holds: a stranger naming this identity cannot spend its allowance.
    await this.limits.consume('meter', `psk:${command.pskIdentity}`);
    const device = records.find(
      (r) => r.tenantId === verdict.tenantId && r.endpointName === verdict.endpointName,
    );
    // Enrollment knows the meter under another name or tenant than the read model: it is behind.
    if (!device) return this.devices.notYetKnown();
    // Enrollment destroyed a revoked key, so its proof fails there; a record that still says revoked
    // (enrollment's answer raced the topic) is refused all the same.
    if (device.credentialRevokedAt !== undefined) throw BootstrapErrors.badPskProof();
    if (claimLapsed(device, now))
      throw BootstrapErrors.notEnrolledHere('the claim on this meter lapsed before it bootstrapped');
    admit(device);
    await this.limits.rebootstrap(device);
    return this.issuance.issue({
      tenantId: device.tenantId,
      endpointName: device.endpointName,
      csr,
      kind: 'bootstrap',
      now,
    });
  }
}
