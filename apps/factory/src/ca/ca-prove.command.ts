import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateKeyPair, issueCertificate } from '@meterkeep/pki';
import { HELP_OPTION, parseOrUsage, required } from '../cli/args';
import type { CliCommand, CliIo } from '../cli/command';
import { usageError } from '../factory.errors';
import { PASSPHRASE_ENV, loadIssuingCa, passphraseFromEnv } from './ca-store';

const HELP = `Usage: factory ca prove --ca DIR --code CODE --out FILE

Proves to a utility that this factory holds the key of its factory CA (the intermediate, which signs
meters' certificates): the utility's enrollment service hands out a verification code, and this writes
a short-lived certificate whose CN is that code, signed by the intermediate, to return to it.
The key is decrypted with the passphrase in ${PASSPHRASE_ENV}.

Options:
  --ca DIR       the CA directory written by 'factory ca init'
  --code CODE    the verification code the enrollment service answered
  --out FILE     where to write the verification certificate (PEM)
  -h, --help     this help
`;

const CODE = /^[A-Za-z0-9_-]{8,64}$/;
const VALIDITY_MS = 60 * 60 * 1000;

export const caProveCommand: CliCommand = {
  path: ['ca', 'prove'],
  summary: "prove possession of the factory CA's key to a utility (verification certificate)",
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          ...HELP_OPTION,
          ca: { type: 'string' },
          code: { type: 'string' },
          out: { type: 'string' },
        },
      }),
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const caDir = required(values.ca, 'ca');
    const code = required(values.code, 'code');
    const out = required(values.out, 'out');
    if (!CODE.test(code))
      throw usageError('--code is not a verification code (8 to 64 letters, digits, - or _)');
    const ca = await loadIssuingCa(caDir, passphraseFromEnv(io.env));
    const notBefore = new Date(Math.floor(io.now().getTime() / 1000) * 1000);
    const certificate = issueCertificate({
      issuer: { certificate: ca.intermediate, privateKey: ca.privateKey },
      // The proof is the CA's signature; the certificate's own key is thrown away.
      subjectPublicKey: generateKeyPair().publicKey,
      subject: { commonName: code },
      profile: 'factory-device',
      notBefore,
      notAfter: new Date(Math.min(notBefore.getTime() + VALIDITY_MS, ca.intermediate.notAfter.getTime())),
    });
    await writeFile(out, certificate.pem, { mode: 0o644 });
    io.stdout.write(
      `verification certificate ${out}\n  CN ${code}, signed by ${ca.intermediate.subject.toString()}\n`,
    );
    return 0;
  },
};
