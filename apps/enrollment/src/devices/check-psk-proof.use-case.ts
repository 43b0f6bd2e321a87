import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DeviceRow } from '../core/database';
import { DevicesRepository } from './devices.repository';
import type { PskProofRequest, PskProofVerdict } from '@meterkeep/contracts';
import { PskCipher } from './psk-cipher';

/**
 * How many tenants' devices one PSK identity is checked against: identities are unique per tenant, so
 * this bounds the HMACs one request costs whatever other tenants enrolled.
 */
export const PSK_IDENTITY_CANDIDATES_MAX = 8;

/**
 * Bootstrap's question "does this proof come from the holder of this PSK?": the sealed key is opened
 * here, HMAC-SHA256(psk, message) compared with the proof in constant time, and the key wiped; it
 * never leaves the service. Identities are per tenant: the device whose key verifies the proof is the
 * meter's (a tenant that enrolled the identity with another key holds nothing). An unknown identity,
 * or one whose key was destroyed (decommissioned), answers as an invalid proof.
 */
@Injectable()
export class CheckPskProofUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly cipher: PskCipher,
  ) {}

  async execute(request: PskProofRequest): Promise<PskProofVerdict> {
    const candidates = await this.devices.findByPskIdentity(request.pskIdentity, PSK_IDENTITY_CANDIDATES_MAX);
    const message = Buffer.from(request.message, 'base64');
    const proof = Buffer.from(request.proof, 'base64');
    for (const device of candidates)
      if (this.verifies(device, message, proof))
        return { valid: true, tenantId: device.tenant_id, endpointName: device.endpoint_name };
    return { valid: false };
  }

  private verifies(device: DeviceRow, message: Buffer, proof: Buffer): boolean {
    if (!device.psk_key_ciphertext || !device.psk_key_iv || !device.psk_key_tag) return false;
    const psk = this.cipher.open(
      { ciphertext: device.psk_key_ciphertext, iv: device.psk_key_iv, tag: device.psk_key_tag },
      device.endpoint_name,
    );
    let expected: Buffer;
    try {
      expected = createHmac('sha256', psk).update(message).digest();
    } finally {
      psk.fill(0);
    }
    return proof.length === expected.length && timingSafeEqual(proof, expected);
  }
}
