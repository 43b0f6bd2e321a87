import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyIdOf } from '@meterkeep/firmware';
import { type CliCommand, PASSPHRASE_ENV, parseOptions, required } from '../io';
import { SignerError } from '../signer.errors';

export const keygenCommand: CliCommand = {
  name: 'keygen',
  summary: 'a P-256 key pair for an update authority or a signing key',
  help:
    'Usage: firmware-signer keygen --out <dir>\n\n' +
    'Writes <dir>/private.pem (mode 0600; encrypted when ' +
    `${PASSPHRASE_ENV} is set) and <dir>/public.pem, and prints the key id.\n` +
    'Existing files are never overwritten. Meant for tests and demos: production keys live in an HSM.\n',
  async run(argv, io) {
    const { help, values } = parseOptions(argv, ['out']);
    if (help) {
      io.stdout.write(this.help);
      return 0;
    }
    const dir = required(values.out, 'out');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const passphrase = io.env[PASSPHRASE_ENV];
    const privatePem = privateKey.export(
      passphrase
        ? { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }
        : { type: 'pkcs8', format: 'pem' },
    );
    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await writeFile(join(dir, 'private.pem'), privatePem, { flag: 'wx', mode: 0o600 });
      await writeFile(join(dir, 'public.pem'), publicPem, { flag: 'wx', mode: 0o644 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new SignerError('EXISTS', `${dir} already holds a key; choose another --out`);
      }
      throw error;
    }
    io.stdout.write(
      `wrote ${join(dir, 'private.pem')} (0600${passphrase ? ', encrypted' : ''}) and ${join(dir, 'public.pem')}\n` +
        `keyId ${keyIdOf(privateKey)}\n`,
    );
    return 0;
  },
};
