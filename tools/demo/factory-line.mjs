// The OEM's side: a manufacturer CA, a batch of meters minted with progress, verified, and loaded
// into simulated meters whose factory path then locks.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, say } from './run.mjs';

export function mintBatch({ dir, count, prefix, bootstrapUri, serverCaPem, updateAuthorityPublicKey }) {
  // The passphrase lives only in this process's environment, as on a factory line.
  const env = { METERKEEP_CA_PASSPHRASE: randomBytes(24).toString('base64url') };
  const ca = join(dir, 'ca');
  const batch = join(dir, 'batch');
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  say('factory: creating the manufacturer root and factory CA');
  runCli('factory', ['ca', 'init', '--out', ca, '--name', 'Demo Meters Ltd'], { env });

  // What the utility hands the OEM: its bootstrap server's CA and its firmware update key.
  writeFileSync(join(dir, 'bootstrap-ca.pem'), serverCaPem);
  writeFileSync(join(dir, 'update-authority.pub.pem'), readFileSync(updateAuthorityPublicKey));

  say(`factory: minting ${count} meters`);
  runCli(
    'factory',
    [
      'batch',
      'create',
      '--count',
      String(count),
      // The model enrollment records is the firmware class the distributor deploys by.
      '--model',
      'em300',
      '--prefix',
      prefix,
      '--ca',
      ca,
      '--out',
      batch,
      '--bootstrap-uri',
      bootstrapUri,
      '--bootstrap-trust-anchor',
      join(dir, 'bootstrap-ca.pem'),
      '--update-authority-key',
      join(dir, 'update-authority.pub.pem'),
      '--vendor-id',
      'demo-meters',
      '--class-id',
      'em300',
      '--param',
      'region=north',
    ],
    { env },
  );
  say('factory: verifying the batch (chains, keys, lifetimes, parameters)');
  runCli('factory', ['batch', 'verify', batch, '--ca', ca], { env });

  say('meter-sim: loading each bundle into its meter and locking the factory path');
  const provisioned = runCli('meter-sim', [
    'provision',
    '--batch',
    batch,
    '--manufacturer-ca',
    join(ca, 'root.pem'),
    '--state',
    join(dir, 'meters'),
  ]);
  say(`meter-sim: ${provisioned.trim()}`);
  return { env, ca, batch };
}
