import { writeFile } from 'node:fs/promises';
import { MAX_DELEGATION_DAYS, issueSigningKeyCertificate, keyIdOf } from '@meterkeep/firmware';
import { type CliCommand, parseOptions, readPrivateKey, readPublicKey, required } from '../io';
import { SignerError, usageError } from '../signer.errors';

/** Backdated a little, so a meter whose trusted clock lags a few minutes accepts it at once. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export const delegateCommand: CliCommand = {
  name: 'delegate',
  summary: 'certify a short-lived signing key with the root key',
  help:
    'Usage: firmware-signer delegate --root-key <root-private.pem> --signing-public-key <public.pem>\n' +
    `                                --days <1..${MAX_DELEGATION_DAYS}> --out <cert.pem>\n\n` +
    'Writes an X.509 certificate (ES256, codeSigning) for the signing key, signed by the update\n' +
    "authority's root key, valid from 5 minutes ago for --days days. Meters accept manifests signed by\n" +
    'the signing key, with this certificate in the envelope, while it is valid and not revoked.\n',
  async run(argv, io) {
    const { help, values } = parseOptions(argv, ['root-key', 'signing-public-key', 'days', 'out']);
    if (help) {
      io.stdout.write(this.help);
      return 0;
    }
    const rootPath = required(values['root-key'], 'root-key');
    const signingPath = required(values['signing-public-key'], 'signing-public-key');
    const daysText = required(values.days, 'days');
    const out = required(values.out, 'out');
    const days = Number(daysText);
    if (!/^\d+$/.test(daysText) || days < 1 || days > MAX_DELEGATION_DAYS) {
      throw usageError(
        `--days must be a whole number from 1 to ${MAX_DELEGATION_DAYS}, not ${JSON.stringify(daysText)}`,
      );
    }
    const rootPrivateKey = await readPrivateKey(rootPath, io);
    const signingPublicKey = await readPublicKey(signingPath);
    if (keyIdOf(signingPublicKey) === keyIdOf(rootPrivateKey)) {
      throw new SignerError('INPUT_INVALID', 'the signing key is the root key: delegate to another key');
    }
    const now = io.now().getTime();
    const notBefore = new Date(now - CLOCK_SKEW_MS);
    const notAfter = new Date(now + days * 24 * 3600 * 1000);
    const pem = issueSigningKeyCertificate({ rootPrivateKey, signingPublicKey, notBefore, notAfter });
    try {
      await writeFile(out, pem, { flag: 'wx', mode: 0o644 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new SignerError('EXISTS', `${out} exists`);
      throw error;
    }
    io.stdout.write(
      `wrote ${out}: signing key ${keyIdOf(signingPublicKey)} certified by root ${keyIdOf(rootPrivateKey)}\n` +
        `valid ${notBefore.toISOString()} to ${notAfter.toISOString()}\n`,
    );
    return 0;
  },
};
