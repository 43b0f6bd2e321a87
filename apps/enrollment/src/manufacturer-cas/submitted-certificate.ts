import { type Certificate, PEM_LABEL, isPkiError, parseCertificate, parsePemBlocks } from '@meterkeep/pki';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';

/** Exactly one P-256 certificate from a PEM text, or a 400 saying what is wrong with it. */
export function parseSubmittedCertificate(pem: string): Certificate {
  try {
    const blocks = parsePemBlocks(pem);
    if (blocks.length !== 1 || blocks[0]!.label !== PEM_LABEL.certificate) {
      throw ManufacturerCaErrors.malformed(`found ${blocks.length} PEM block(s)`);
    }
    return parseCertificate(blocks[0]!.der);
  } catch (error) {
    if (isPkiError(error, 'UNSUPPORTED_KEY') || isPkiError(error, 'UNSUPPORTED_ALGORITHM'))
      throw ManufacturerCaErrors.keyNotP256();
    if (isPkiError(error)) throw ManufacturerCaErrors.malformed(error.code);
    throw error;
  }
}
