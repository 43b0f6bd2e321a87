import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DevicesRepository } from './devices.repository';
import type { PskProofRequest, PskProofVerdict } from '@meterkeep/contracts';
import { PskCipher } from './psk-cipher';

/**
 * Bootstrap's question "does this proof come from the holder of this PSK?": the sealed key is opened
 * here, HMAC-SHA256(psk, message) compared with the proof in constant time, and the key wiped; it
 * never leaves the service. An unknown identity, or one whose key was destroyed (decommissioned),
 * answers as an invalid proof.
 */
@Injectable()
export class CheckPskProofUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly cipher: PskCipher,
  ) {}

  async execute(request: PskProofRequest): Promise<PskProofVerdict> {
    const device = await this.devices.findByPskIdentity(request.pskIdentity);
    if (!device?.psk_key_ciphertext || !device.psk_key_iv || !device.psk_key_tag) return { valid: false };
    const psk = this.cipher.open(
      { ciphertext: device.psk_key_ciphertext, iv: device.psk_key_iv, tag: device.psk_key_tag },
      device.endpoint_name,
    );
    let expected: Buffer;
    try {
      expected = createHmac('sha256', psk).update(Buffer.from(request.message, 'base64')).digest();
    } finally {
      psk.fill(0);
    }
    const proof = Buffer.from(request.proof, 'base64');
    if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) return { valid: false };
    return { valid: true, tenantId: device.tenant_id, endpointName: device.endpoint_name };
  }
}
