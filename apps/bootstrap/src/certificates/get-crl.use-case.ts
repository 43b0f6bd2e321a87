import { Injectable } from '@nestjs/common';
import { TenantCasRepository } from '../pki/tenant-cas.repository';
import { CertificateErrors } from './certificates.errors';
import { CRL_REFRESH_BEFORE_MS, CrlPublisher } from './crl-publisher';

/** The tenant issuing CA's current CRL (DER): the stored one, reissued when it nears its nextUpdate. */
@Injectable()
export class GetCrlUseCase {
  constructor(
    private readonly cas: TenantCasRepository,
    private readonly publisher: CrlPublisher,
  ) {}

  async execute(tenantId: string, now = new Date()): Promise<Buffer> {
    const stored = await this.cas.findCrl(tenantId);
    if (!stored) throw CertificateErrors.noCrl();
    const fresh =
      stored.crl_der !== null &&
      stored.crl_next_update !== null &&
      stored.crl_next_update.getTime() - now.getTime() > CRL_REFRESH_BEFORE_MS;
    if (fresh) return stored.crl_der!;
    const issued = await this.publisher.publish(tenantId);
    if (!issued) throw CertificateErrors.noCrl();
    return issued;
  }
}
