import { describe, expect, it } from 'vitest';
import { createRootCa } from '@meterkeep/pki';
import { presentedChain } from './presented-chain';

const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) };
const meterCertificate = () =>
  createRootCa({ subject: { commonName: 'MTR-00000001' }, validity }).certificate.der;

describe('presentedChain', () => {
  it('keeps a refusal for the connection: the same chain array is not parsed again', () => {
    const chain: Buffer[] = [Buffer.from('not a certificate')];
    expect(() => presentedChain(chain)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_INVALID' }));
    // The listener hands every request of a connection the same array; were it parsed again, this would pass.
    chain[0] = meterCertificate();
    expect(() => presentedChain(chain)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_INVALID' }));
    expect(presentedChain([meterCertificate()]).endpointName).toBe('MTR-00000001');
  });

  it('keeps an accepted chain for the connection too', () => {
    const chain = [meterCertificate()];
    const first = presentedChain(chain);
    expect(presentedChain(chain)).toBe(first);
  });

  it('answers 401 without a certificate', () => {
    expect(() => presentedChain([])).toThrow(
      expect.objectContaining({ code: 'CLIENT_CERTIFICATE_REQUIRED' }),
    );
  });
});
