import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BOOTSTRAP_OPERATIONAL_CERTIFICATES,
  type BootstrapAnswer,
  DEVICE_LIFECYCLE,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { type Logger, countMetric } from '@meterkeep/observability';
import { type CertificationRequest, issueFromCsr, parseCsr } from '@meterkeep/pki';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { IssuedCertificatesRepository } from '../certificates/issued-certificates.repository';
import { operationalCertificateEvent } from '../certificates/operational-certificate.event';
import type { BootstrapConfig } from '../config';
import type { IssuanceKind } from '../core/database';
import { directivePublicKeysOf } from '../pki/directive-public-keys';
import { IssuingCaPublisher } from '../pki/issuing-ca-publisher';
import { wholeSeconds } from '../pki/seconds';
import { ServerIdentity } from '../pki/server-identity';
import { TenantIssuers } from '../pki/tenant-issuers';
import { BootstrapErrors } from './bootstrap.errors';
import { BootstrapSessions } from './bootstrap-sessions';
import { csrRefusal } from './refusals';

/** Meters' clocks drift: a certificate is valid from a little before it was issued. */
const BACKDATE_MS = 5 * 60_000;

export interface IssueRequest {
  tenantId: string;
  endpointName: string;
  csr: CertificationRequest;
  kind: IssuanceKind;
  /** A key the new certificate must not certify (the factory key: the operational key is a new one). */
  forbiddenSpki?: Buffer;
  now: Date;
}

/** Parses and verifies a CSR: 400 when malformed or badly signed, 403 CSR_KEY_UNSUPPORTED when not P-256. */
export function parseCsrOrRefuse(csrPem: string): CertificationRequest {
  try {
    return parseCsr(csrPem);
  } catch (error) {
    throw csrRefusal(error);
  }
}

/** renewAfter = notBefore + 2/3 of the validity: the meter renews with a third of it left. */
export function renewalPolicy(notBefore: Date, notAfter: Date): BootstrapAnswer['renewal'] {
  const renewAfter = new Date(
    notBefore.getTime() + Math.floor(((notAfter.getTime() - notBefore.getTime()) * 2) / 3),
  );
  return { notAfter: notAfter.toISOString(), renewAfter: renewAfter.toISOString() };
}

/**
 * The last step of bootstrap and renewal, once the meter is authenticated and admitted: checks the
 * CSR against the endpoint name, signs a short-lived operational certificate with the tenant's issuing
 * CA, records it, and publishes the lifecycle event and the device's current certificate (valid); the
 * answer leaves only after Kafka acknowledged both (and the tenant's issuing CA record), so no
 * certificate is in a meter's hands that the registry and the operational endpoints never heard of.
 */
@Injectable()
export class OperationalIssuance {
  /** What meters pin to verify the distributor's directives (checked with the config at start-up). */
  private readonly directivePublicKeysPem: string[] | undefined;

  constructor(
    private readonly issuers: TenantIssuers,
    private readonly identity: ServerIdentity,
    private readonly issuingCas: IssuingCaPublisher,
    private readonly certificates: IssuedCertificatesRepository,
    private readonly sessions: BootstrapSessions,
    private readonly producer: EventProducer,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.directivePublicKeysPem = directivePublicKeysOf(config);
  }

  async issue(request: IssueRequest): Promise<BootstrapAnswer> {
    const { tenantId, endpointName, csr, kind, now } = request;
    if (csr.subject.commonName !== endpointName)
      throw BootstrapErrors.csrSubjectMismatch(
        `The CSR's CN ${JSON.stringify(csr.subject.commonName ?? null)} is not the endpoint name ${JSON.stringify(endpointName)}`,
      );
    if (request.forbiddenSpki?.equals(csr.spki))
      throw BootstrapErrors.csrKeyUnsupported(
        'The CSR must carry a new key, not the factory certificate key',
      );

    const csrDigest = createHash('sha256').update(csr.der).digest('hex');
    const replay = await this.sessions.find(endpointName, csrDigest);
    if (replay?.tenantId === tenantId) {
      const issued = await this.certificates.find(tenantId, replay.serial);
      if (issued && issued.revoked_at === null && issued.not_after > now)
        return {
          ...replay.answer,
          serverTime: now.toISOString(),
          serverTrustAnchorsPem: [await this.identity.serverCaPem()],
        };
    }

    const pki = await this.issuers.forTenant(tenantId);
    const notBefore = wholeSeconds(now.getTime() - BACKDATE_MS);
    const notAfter = wholeSeconds(notBefore.getTime() + this.config.BOOTSTRAP_CERT_VALIDITY);
    let certificate;
    try {
      certificate = issueFromCsr({
        issuer: pki.issuer,
        csr,
        profile: 'operational-device',
        expectedCommonName: endpointName,
        notBefore,
        notAfter,
      });
    } catch (error) {
      throw csrRefusal(error);
    }
    const serial = certificate.serialHex;
    await this.certificates.record({ tenantId, serial, endpointName, kind, notBefore, notAfter });
    try {
      // Sent together (one request to the broker); both acknowledged before the answer leaves.
      await Promise.all([
        this.issuingCas.ensurePublished(pki),
        this.producer.publish(DEVICE_LIFECYCLE, {
          eventId: randomUUID(),
          tenantId,
          occurredAt: now.toISOString(),
          type: kind === 'bootstrap' ? 'bootstrapped' : 'certificate-renewed',
          deviceId: endpointName,
          state: 'ACTIVE',
          actor: 'bootstrap',
          certificateSerial: serial,
        }),
        this.producer.publish(
          BOOTSTRAP_OPERATIONAL_CERTIFICATES,
          operationalCertificateEvent({
            tenantId,
            deviceId: endpointName,
            serial,
            notAfter,
            status: 'valid',
            at: now,
          }),
        ),
      ]);
    } catch (error) {
      // Never handed out: the meter retries, and gets another certificate then.
      this.logger.error({ err: error, tenantId, endpointName, serial }, 'certificate events not published');
      throw BootstrapErrors.unavailable();
    }
    const answer: BootstrapAnswer = {
      endpointName,
      tenantId,
      certificatePem: certificate.pem,
      chainPem: [...pki.chainPem],
      serverTime: now.toISOString(),
      renewal: renewalPolicy(notBefore, notAfter),
      servers: {
        telemetry: { uri: this.config.BOOTSTRAP_TELEMETRY_URI },
        ota: {
          uri: this.config.BOOTSTRAP_OTA_URI,
          ...(this.directivePublicKeysPem && { directivePublicKeysPem: [...this.directivePublicKeysPem] }),
        },
        bootstrap: { uri: this.config.BOOTSTRAP_PUBLIC_URI },
      },
      serverTrustAnchorsPem: [await this.identity.serverCaPem()],
    };
    await this.sessions.save(endpointName, csrDigest, { tenantId, serial, answer });
    countMetric('certificatesIssued', { 'meterkeep.issuance.kind': kind });
    this.logger.info(
      { tenantId, deviceId: endpointName, serial, kind, notAfter: notAfter.toISOString() },
      'operational certificate issued',
    );
    return answer;
  }
}
