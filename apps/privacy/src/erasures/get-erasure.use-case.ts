import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import type { SignedErasureCertificate } from './erasure-certificate';
import { toErasureView } from './erasure.view';
import { ErasureErrors } from './erasures.errors';
import { ErasuresRepository } from './erasures.repository';
import type { ErasureView } from './erasures.schemas';

/** An erasure of the caller's tenant, by subject and id (another subject's or tenant's answers not found). */
@Injectable()
export class GetErasureUseCase {
  constructor(private readonly erasures: ErasuresRepository) {}

  async execute(caller: Caller, subjectRef: string, erasureId: string): Promise<ErasureView> {
    const row = await this.erasures.find(caller.tenantId, erasureId);
    if (row?.subject_ref !== subjectRef) throw ErasureErrors.notFound();
    const confirmations = await this.erasures.confirmations(this.erasures.database, erasureId);
    const certificate = await this.erasures.certificate(caller.tenantId, erasureId);
    return toErasureView(row, confirmations, certificate?.certificate_id ?? null);
  }

  /** The signed certificate, as issued (CERTIFICATE_NOT_READY before CERTIFIED). */
  async certificate(
    caller: Caller,
    subjectRef: string,
    erasureId: string,
  ): Promise<SignedErasureCertificate> {
    const row = await this.erasures.find(caller.tenantId, erasureId);
    if (row?.subject_ref !== subjectRef) throw ErasureErrors.notFound();
    const certificate = await this.erasures.certificate(caller.tenantId, erasureId);
    if (!certificate) throw ErasureErrors.certificateNotReady(row.state);
    return certificate.document as SignedErasureCertificate;
  }
}
