import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { ManufacturerCaRow } from '../core/database';
import { Transactions } from '../outbox/transactions';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { RegisterManufacturerCaRequest, RegisteredManufacturerCaView } from './manufacturer-cas.schemas';
import { parseSubmittedCertificate } from './submitted-certificate';

export const VERIFICATION_CODE_TTL_MS = 60 * 60 * 1000;

export const hashVerificationCode = (code: string) => createHash('sha256').update(code, 'utf8').digest();

/**
 * Registers a manufacturer CA for the caller's tenant, pending proof of possession: the answer holds a
 * one-time verification code (stored hashed, valid one hour). Registering a still-pending CA again
 * issues a new code. Trust is per tenant: an OEM's CA may be registered, and proven, by every utility
 * it sells to.
 */
@Injectable()
export class RegisterManufacturerCaUseCase {
  constructor(
    private readonly cas: ManufacturerCasRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(
    caller: Caller,
    request: RegisterManufacturerCaRequest,
  ): Promise<RegisteredManufacturerCaView> {
    const certificate = parseSubmittedCertificate(request.certificatePem);
    if (!certificate.isCa || !certificate.extensions.keyUsage?.includes('keyCertSign'))
      throw ManufacturerCaErrors.notACa();
    const now = new Date();
    if (now < certificate.notBefore || now > certificate.notAfter)
      throw ManufacturerCaErrors.caOutsideValidity();

    const code = randomBytes(16).toString('hex');
    const expiresAt = new Date(now.getTime() + VERIFICATION_CODE_TTL_MS);
    const pending = {
      status: 'PENDING_VERIFICATION' as const,
      verification_code_sha256: hashVerificationCode(code),
      verification_expires_at: expiresAt,
      updated_at: now,
    };
    const row = await this.transactions.run(async (trx): Promise<ManufacturerCaRow> => {
      const inserted = await this.cas.insert(trx, {
        ca_id: randomUUID(),
        tenant_id: caller.tenantId,
        fingerprint_sha256: certificate.fingerprintSha256,
        subject: certificate.subject.toString(),
        certificate_pem: certificate.pem,
        not_after: certificate.notAfter,
        ...pending,
      });
      let ca = inserted;
      if (!ca) {
        const existing = await this.cas.lockByFingerprint(
          trx,
          caller.tenantId,
          certificate.fingerprintSha256,
        );
        if (!existing) throw new Error('manufacturer CA vanished during registration');
        if (existing.status !== 'PENDING_VERIFICATION')
          throw ManufacturerCaErrors.alreadyRegistered(existing.ca_id, existing.status);
        ca = await this.cas.update(trx, existing.ca_id, pending);
      }
      await this.audit.append(trx, caller.tenantId, [
        {
          action: inserted ? 'ca.registered' : 'ca.verification-renewed',
          actor: caller.actor,
          subject: ca.ca_id,
          outcome: 'allowed',
          detail: { fingerprintSha256: ca.fingerprint_sha256 },
        },
      ]);
      return ca;
    });
    return { ...toManufacturerCaView(row), verificationCode: code };
  }
}
