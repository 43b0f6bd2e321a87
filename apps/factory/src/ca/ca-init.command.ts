import { parseArgs } from 'node:util';
import { addYears } from '@meterkeep/factory-bundle';
import { createIntermediateCa, createRootCa } from '@meterkeep/pki';
import { HELP_OPTION, integer, parseOrUsage, required } from '../cli/args';
import type { CliCommand, CliIo } from '../cli/command';
import { usageError } from '../factory.errors';
import { CA_FILES, PASSPHRASE_ENV, passphraseFromEnv, writeCa } from './ca-store';

const HELP = `Usage: factory ca init --out DIR [options]

Creates the manufacturer's root CA and the intermediate that signs meters' factory certificates.
Both private keys are written encrypted (PKCS#8, scrypt + AES-256-CBC) under the passphrase in
${PASSPHRASE_ENV} (at least 12 characters), which is never printed.

  ${CA_FILES.rootCertificate}, ${CA_FILES.intermediateCertificate}      the certificates
  ${CA_FILES.rootKey}                       the root key: move it offline, batches never need it
  ${CA_FILES.intermediateKey}               the key batches sign with

Options:
  --out DIR                 directory for the CA (created 0700); existing CA files are never overwritten
  --name NAME               manufacturer name, the certificates' organization (default: Meterkeep Manufacturer)
  --country CC              two-letter country code for the subjects
  --root-years N            root validity in years (default 40)
  --intermediate-years N    intermediate validity in years (default 30, at most the root's)
  -h, --help                this help
`;

export const caInitCommand: CliCommand = {
  path: ['ca', 'init'],
  summary: 'create the manufacturer root and intermediate CA',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          ...HELP_OPTION,
          out: { type: 'string' },
          name: { type: 'string' },
          country: { type: 'string' },
          'root-years': { type: 'string' },
          'intermediate-years': { type: 'string' },
        },
      }),
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const out = required(values.out, 'out');
    const organization = values.name ?? 'Meterkeep Manufacturer';
    if (values.country !== undefined && !/^[A-Z]{2}$/.test(values.country)) {
      throw usageError('--country must be two capital letters, such as GB');
    }
    const rootYears = integer(values['root-years'], 'root-years', 1, 100) ?? 40;
    const intermediateYears = integer(values['intermediate-years'], 'intermediate-years', 1, 100) ?? 30;
    if (intermediateYears > rootYears) throw usageError('--intermediate-years cannot exceed --root-years');
    const passphrase = passphraseFromEnv(io.env);

    const notBefore = new Date(Math.floor(io.now().getTime() / 1000) * 1000);
    const subject = (commonName: string) => ({
      ...(values.country !== undefined && { country: values.country }),
      organization,
      commonName,
    });
    const root = createRootCa({
      subject: subject(`${organization} Root CA`),
      validity: { notBefore, notAfter: addYears(notBefore, rootYears) },
      pathLen: 1,
    });
    const intermediate = createIntermediateCa(root, {
      subject: subject(`${organization} Factory CA`),
      validity: { notBefore, notAfter: addYears(notBefore, intermediateYears) },
      pathLen: 0,
    });
    const paths = await writeCa(out, { root, intermediate }, passphrase);
    io.stdout.write(
      `root CA          ${paths.rootCertificate}\n` +
        `  sha256         ${root.certificate.fingerprintSha256}\n` +
        `  valid until    ${root.certificate.notAfter.toISOString()}\n` +
        `intermediate CA  ${paths.intermediateCertificate}\n` +
        `  sha256         ${intermediate.certificate.fingerprintSha256}\n` +
        `  valid until    ${intermediate.certificate.notAfter.toISOString()}\n` +
        `keys (encrypted) ${paths.rootKey}, ${paths.intermediateKey}\n` +
        `Move ${paths.rootKey} offline: batches need only the intermediate key.\n`,
    );
    return 0;
  },
};
