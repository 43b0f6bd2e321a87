import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ENVELOPE_BYTES, keyIdOf, manifestSchema, signManifest } from '@meterkeep/firmware';
import { type Certificate, parseCertificate } from '@meterkeep/pki';
import { type CliCommand, parseOptions, readBounded, readPem, readPrivateKey, required } from '../io';
import { SignerError } from '../signer.errors';

export const signCommand: CliCommand = {
  name: 'sign',
  summary: 'canonicalise (RFC 8785) and sign a manifest (ES256)',
  help:
    'Usage: firmware-signer sign --key <private.pem> --manifest <manifest.json> --out <dir>\n' +
    '                            [--signing-key-cert <cert.pem>]\n\n' +
    'Checks the manifest against the v1 schema, then writes to <dir>:\n' +
    '  manifest.jcs   the exact signed bytes (RFC 8785 canonical JSON)\n' +
    '  manifest.sig   the detached DER signature (openssl dgst -sha256 -verify public.pem\n' +
    '                 -signature manifest.sig manifest.jcs)\n' +
    '  envelope.json  { manifest, signatures } as the distributor accepts it\n' +
    'and prints the manifest digest. With --signing-key-cert the key is a delegated signing key and its\n' +
    'certificate (from `delegate`) travels in the envelope.\n',
  async run(argv, io) {
    const { help, values } = parseOptions(argv, ['key', 'manifest', 'out', 'signing-key-cert']);
    if (help) {
      io.stdout.write(this.help);
      return 0;
    }
    const keyPath = required(values.key, 'key');
    const manifestPath = required(values.manifest, 'manifest');
    const out = required(values.out, 'out');
    const certPath = values['signing-key-cert'];

    const privateKey = await readPrivateKey(keyPath, io);
    let json: unknown;
    try {
      json = JSON.parse((await readBounded(manifestPath, MAX_ENVELOPE_BYTES, 'manifest')).toString('utf8'));
    } catch (error) {
      if (error instanceof SignerError) throw error;
      throw new SignerError('INPUT_INVALID', `${manifestPath} is not JSON`);
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new SignerError(
        'INPUT_INVALID',
        `${manifestPath} is not a valid v1 manifest:\n${issues.join('\n')}`,
      );
    }

    let signingKeyCertPem: string | undefined;
    if (certPath !== undefined) {
      signingKeyCertPem = await readPem(certPath, 'signing-key certificate');
      checkCertificateFor(signingKeyCertPem, certPath, keyIdOf(privateKey), io.now());
    }

    const signed = signManifest(parsed.data, [
      { privateKey, ...(signingKeyCertPem !== undefined && { signingKeyCertPem }) },
    ]);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'manifest.jcs'), signed.canonicalBytes);
    await writeFile(join(out, 'manifest.sig'), signed.signaturesDer[0]!);
    await writeFile(join(out, 'envelope.json'), signed.envelopeBytes);
    io.stdout.write(
      `signed manifest sequence ${parsed.data.sequenceNumber} for ${parsed.data.vendorId}/${parsed.data.classId}\n` +
        `digest ${signed.digest}\nkeyId ${keyIdOf(privateKey)}\n` +
        `wrote ${join(out, 'manifest.jcs')}, ${join(out, 'manifest.sig')}, ${join(out, 'envelope.json')}\n`,
    );
    return 0;
  },
};

/**
 * The certificate must certify this very key and be valid now: a signature a meter would refuse is
 * caught here, offline. Whether a root signed it is the meter's check (the tool need not hold the root).
 */
export function checkCertificateFor(pem: string, path: string, keyId: string, now: Date): void {
  let certificate: Certificate;
  try {
    certificate = parseCertificate(pem);
  } catch (error) {
    throw new SignerError('INPUT_INVALID', `${path} is no certificate: ${(error as Error).message}`);
  }
  if (keyIdOf(certificate.publicKey) !== keyId) {
    throw new SignerError('INPUT_INVALID', `${path} certifies another key than --key`);
  }
  if (now < certificate.notBefore || now > certificate.notAfter) {
    throw new SignerError(
      'INPUT_INVALID',
      `${path} is valid from ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}, not now`,
    );
  }
}
