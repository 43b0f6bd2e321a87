import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ENVELOPE_BYTES, cosignManifest, keyIdOf } from '@meterkeep/firmware';
import { type CliCommand, parseOptions, readBounded, readPem, readPrivateKey, required } from '../io';
import { SignerError } from '../signer.errors';
import { checkCertificateFor } from './sign.command';

export const cosignCommand: CliCommand = {
  name: 'cosign',
  summary: 'add a second signature to an envelope (two-person rule)',
  help:
    'Usage: firmware-signer cosign --key <private.pem> --envelope <envelope.json> --out <dir>\n' +
    '                              [--signing-key-cert <cert.pem>]\n\n' +
    'Signs the same canonical manifest bytes as the envelope’s first signer and writes <dir>/envelope.json\n' +
    'with both signatures, <dir>/manifest.jcs and <dir>/manifest.cosig (the new DER signature). Compare\n' +
    'the printed digest with the one the first signer printed before handing the envelope on. Device\n' +
    'policy may ask two distinct signers for a component (e.g. metrology); the manifest cannot.\n',
  async run(argv, io) {
    const { help, values } = parseOptions(argv, ['key', 'envelope', 'out', 'signing-key-cert']);
    if (help) {
      io.stdout.write(this.help);
      return 0;
    }
    const privateKey = await readPrivateKey(required(values.key, 'key'), io);
    const envelopePath = required(values.envelope, 'envelope');
    const out = required(values.out, 'out');
    const certPath = values['signing-key-cert'];
    let signingKeyCertPem: string | undefined;
    if (certPath !== undefined) {
      signingKeyCertPem = await readPem(certPath, 'signing-key certificate');
      checkCertificateFor(signingKeyCertPem, certPath, keyIdOf(privateKey), io.now());
    }
    const envelope = await readBounded(envelopePath, MAX_ENVELOPE_BYTES, 'envelope');
    let signed;
    try {
      signed = cosignManifest(envelope, [
        { privateKey, ...(signingKeyCertPem !== undefined && { signingKeyCertPem }) },
      ]);
    } catch (error) {
      throw new SignerError('INPUT_INVALID', `${envelopePath}: ${(error as Error).message}`);
    }
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'manifest.jcs'), signed.canonicalBytes);
    await writeFile(join(out, 'manifest.cosig'), signed.signaturesDer[0]!);
    await writeFile(join(out, 'envelope.json'), signed.envelopeBytes);
    io.stdout.write(
      `co-signed digest ${signed.digest}\nkeyId ${keyIdOf(privateKey)}\n` +
        `wrote ${join(out, 'envelope.json')}, ${join(out, 'manifest.jcs')}, ${join(out, 'manifest.cosig')}\n`,
    );
    return 0;
  },
};
