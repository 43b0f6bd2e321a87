import { timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ENROLLMENT_TRUST_ANCHORS } from '@meterkeep/contracts';
import { type Certificate, isPkiError, parseCertificate, validateChain } from '@meterkeep/pki';
import type { Caller, DomainError } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { ManufacturerCaRow } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { trustAnchorEvent } from './trust-anchor.event';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { ManufacturerCaView, VerifyManufacturerCaRequest } from './manufacturer-cas.schemas';
import { hashVerificationCode } from './register-manufacturer-ca.use-case';
import { parseSubmittedCertificate } from './submitted-certificate';

/**
 * Proof of possession: the CA holder returns a certificate that the CA signed, valid now, whose CN is
 * the verification code. Then the CA is TRUSTED for the tenant and bootstrap hears of it. Every
 * refusal is audited (and committed) before it is answered.
 */
@Injectable()
export class VerifyManufacturerCaUseCase {
  constructor(
    private readonly cas: ManufacturerCasRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(
    caller: Caller,
    caId: string,
    request: VerifyManufacturerCaRequest,
  ): Promise<ManufacturerCaView> {
    const proof = parseSubmittedCertificate(request.certificatePem);
    const now = new Date();
    const outcome = await this.transactions.run(async (trx) => {
      const ca = await this.cas.lock(trx, caller.tenantId, caId);
      if (!ca) throw ManufacturerCaErrors.notFound();
      if (ca.status !== 'PENDING_VERIFICATION') throw ManufacturerCaErrors.notPending(ca.status);
      const refusal = checkProof(ca, proof, now);
      if (refusal) {
        await this.audit.append(trx, caller.tenantId, [
          {
            action: 'ca.verification-refused',
            actor: caller.actor,
            subject: ca.ca_id,
            outcome: 'refused',
            detail: { reason: refusal.code },
          },
        ]);
        return { ok: false as const, refusal };
      }
      const trusted = await this.cas.update(trx, ca.ca_id, {
        status: 'TRUSTED',
        verification_code_sha256: null,
        verification_expires_at: null,
        verified_at: now,
        updated_at: now,
      });
      await this.outbox.enqueue(trx, ENROLLMENT_TRUST_ANCHORS, [trustAnchorEvent(trusted, 'TRUSTED', now)]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ca.trusted',
          actor: caller.actor,
          subject: ca.ca_id,
          outcome: 'allowed',
          detail: { fingerprintSha256: ca.fingerprint_sha256 },
        },
      ]);
      return { ok: true as const, trusted };
    });
    if (!outcome.ok) throw outcome.refusal;
    return toManufacturerCaView(outcome.trusted);
  }
}

/** Why the proof fails, or undefined when it holds: the code is current, is the CN, and the CA signed it. */
function checkProof(ca: ManufacturerCaRow, proof: Certificate, now: Date): DomainError | undefined {
  if (!ca.verification_code_sha256 || !ca.verification_expires_at || ca.verification_expires_at <= now)
    return ManufacturerCaErrors.codeExpired();
  const presented = hashVerificationCode(proof.subject.commonName ?? '');
  if (!timingSafeEqual(presented, ca.verification_code_sha256)) return ManufacturerCaErrors.codeMismatch();
  try {
    validateChain({ leaf: proof, trustAnchors: [parseCertificate(ca.certificate_pem)], at: now });
  } catch (error) {
    if (isPkiError(error)) return ManufacturerCaErrors.verificationRejected(error.code, error.message);
    throw error;
  }
  return undefined;
}
