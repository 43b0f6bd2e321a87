import { MAX_ENVELOPE_BYTES, verifyManifestEnvelope } from '@meterkeep/firmware';
import { type CliCommand, parseOptions, readBounded, readPublicKey, required } from '../io';
import { SignerError, usageError } from '../signer.errors';

export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'verify an envelope as a meter does (signatures, delegation, schema)',
  help:
    'Usage: firmware-signer verify --public-key <root-public.pem> --envelope <envelope.json> [--at <ISO time>]\n\n' +
    "Verifies the envelope against the root public key (the factory bundle's updateAuthorityPublicKeyPem)\n" +
    'at --at (default now), prints the manifest digest and signers, or the failure code and exits 1.\n' +
    'Device checks (vendor, class, sequence, expiry) are the meter’s: they need its state.\n',
  async run(argv, io) {
    const { help, values } = parseOptions(argv, ['public-key', 'envelope', 'at']);
    if (help) {
      io.stdout.write(this.help);
      return 0;
    }
    const publicKey = await readPublicKey(required(values['public-key'], 'public-key'));
    const path = required(values.envelope, 'envelope');
    const at = values.at === undefined ? io.now() : new Date(values.at);
    if (Number.isNaN(at.getTime()))
      throw usageError(`--at must be an ISO 8601 time, not ${JSON.stringify(values.at)}`);
    const bytes = await readBounded(path, MAX_ENVELOPE_BYTES, 'envelope');
    const result = verifyManifestEnvelope(bytes, { rootPublicKeys: [publicKey] }, at);
    if (!result.ok) throw new SignerError('REFUSED', `${result.code}: ${result.message}`);
    const { manifest } = result;
    io.stdout.write(
      `OK digest ${result.digest}\n` +
        `sequence ${manifest.sequenceNumber} for ${manifest.vendorId}/${manifest.classId}, ` +
        `components ${manifest.components.map((c) => `${c.id.join('/')}@${c.version}`).join(', ')}\n` +
        `signers ${result.signerKeyIds.join(', ')}\n`,
    );
    return 0;
  },
};
