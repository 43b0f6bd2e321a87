import type {
  BootstrapIssuingCaEvent,
  BootstrapOperationalCertificateEvent,
  EnrollmentDeviceEvent,
} from '@meterkeep/contracts';
import { type Certificate, parseCertificate } from '@meterkeep/pki';

export interface DeviceEntry {
  status: EnrollmentDeviceEvent['status'];
  gatewayId: string | undefined;
}

export interface CertificateEntry {
  serial: string;
  status: BootstrapOperationalCertificateEvent['status'];
  notAfter: number;
}

export interface IssuingCa {
  tenantId: string;
  certificate: Certificate;
}

const key = (tenantId: string, deviceId: string) => `${tenantId}/${deviceId}`;

/**
 * What the ingest must know to accept a meter, as the compacted topics last said: each device's
 * state and gateway (enrollment), its current operational certificate (bootstrap) and each tenant's
 * issuing CA. Held in memory per replica and rebuilt from Kafka at start-up: every request consults
 * it, and a revocation must take effect on the next request, not after a cache expiry.
 */
export class DeviceDirectory {
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly certificates = new Map<string, CertificateEntry>();
  /** Issuing CAs by subject DER (hex): a leaf's issuer name finds its candidates. */
  private readonly issuers = new Map<string, IssuingCa[]>();
  private readonly issuerOfTenant = new Map<string, IssuingCa>();

  putDevice(event: EnrollmentDeviceEvent): void {
    this.devices.set(key(event.tenantId, event.deviceId), {
      status: event.status,
      gatewayId: event.gatewayId,
    });
  }

  putCertificate(event: BootstrapOperationalCertificateEvent): void {
    this.certificates.set(key(event.tenantId, event.deviceId), {
      serial: event.serial,
      status: event.status,
      notAfter: Date.parse(event.notAfter),
    });
  }

  putIssuingCa(event: BootstrapIssuingCaEvent): void {
    const certificate = parseCertificate(event.chainPem[0] ?? '');
    const previous = this.issuerOfTenant.get(event.tenantId);
    if (previous) this.removeIssuer(previous);
    const entry = { tenantId: event.tenantId, certificate };
    this.issuerOfTenant.set(event.tenantId, entry);
    const subject = certificate.subject.der.toString('hex');
    this.issuers.set(subject, [...(this.issuers.get(subject) ?? []), entry]);
  }

  device(tenantId: string, deviceId: string): DeviceEntry | undefined {
    return this.devices.get(key(tenantId, deviceId));
  }

  certificate(tenantId: string, deviceId: string): CertificateEntry | undefined {
    return this.certificates.get(key(tenantId, deviceId));
  }

  /** The tenants' issuing CAs whose subject is this issuer name. */
  issuersNamed(issuer: Buffer): readonly IssuingCa[] {
    return this.issuers.get(issuer.toString('hex')) ?? [];
  }

  get size(): { devices: number; certificates: number; issuers: number } {
    return {
      devices: this.devices.size,
      certificates: this.certificates.size,
      issuers: this.issuerOfTenant.size,
    };
  }

  private removeIssuer(entry: IssuingCa): void {
    const subject = entry.certificate.subject.der.toString('hex');
    const rest = (this.issuers.get(subject) ?? []).filter((e) => e !== entry);
    if (rest.length > 0) this.issuers.set(subject, rest);
    else this.issuers.delete(subject);
  }
}
