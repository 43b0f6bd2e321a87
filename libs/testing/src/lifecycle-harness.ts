import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type StackEnv, findWorkspaceRoot, localDirectiveKeys, localSecrets } from '@meterkeep/local-stack';

const run = promisify(execFile);
const workspaceRoot = findWorkspaceRoot();

/**
 * A bound for a CLI run over `count` meters (minting, provisioning, bootstrapping): 10 minutes plus
 * 600 ms a meter, for hung runs only (onboarding took ~280 ms a meter at 1,000 on two busy cores).
 */
export const fleetCliTimeoutMs = (count: number) => 10 * 60_000 + count * 600;

/** Runs one of our built CLIs (dist/apps/<app>/src/<entry>.js) as the line or an operator would. */
export async function runBuiltCli(
  app: 'factory' | 'meter-sim' | 'enrollment' | 'privacy',
  args: string[],
  env: Record<string, string> = {},
  /** The entry's name, or it and a time bound (a fleet-sized run: fleetCliTimeoutMs). */
  options: string | { entry?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { entry = app === 'enrollment' ? 'cli' : 'main', timeoutMs = 10 * 60_000 } =
    typeof options === 'string' ? { entry: options } : options;
  const script = resolve(workspaceRoot, 'dist/apps', app, 'src', `${entry}.js`);
  try {
    const { stdout } = await run(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    const failed = error as { code?: number; signal?: string; stdout?: string; stderr?: string };
    throw new Error(
      `${app} ${args.slice(0, 2).join(' ')} exited ${failed.code ?? failed.signal}: ${[
        failed.stderr,
        failed.stdout,
      ]
        .map((text) => text?.trim())
        .filter(Boolean)
        .join('\n')}`,
      { cause: error },
    );
  }
}

/**
 * The environment the services need on the local stack: its endpoints, the local secrets and the
 * directive key pair (the distributor's private key, the public key bootstrap hands to meters).
 */
export function platformEnv(stack: StackEnv, extra: Record<string, string> = {}): Record<string, string> {
  return { ...stack, ...localSecrets(), ...localDirectiveKeys(), ...extra };
}

export interface Api {
  (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: unknown }>;
}

/** An operator's REST client for the enrollment service, with one API key. */
export function operatorApi(baseUrl: string, apiKey: string): Api {
  return async (method, path, body, contentType = 'application/json') => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined && { 'content-type': contentType }),
      },
      body:
        body === undefined
          ? undefined
          : contentType === 'application/json'
            ? JSON.stringify(body)
            : (body as string),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
}

export interface MintedBatch {
  dir: string;
  caDir: string;
  batchDir: string;
  statesDir: string;
  caEnv: Record<string, string>;
  endpointNames: string[];
  /** The update authority's private key (PKCS#8 PEM) whose public half the bundles carry. */
  updateAuthorityKeyFile: string;
}

/**
 * A factory line's run: a manufacturer CA, a batch minted for the given bootstrap server and trust
 * anchor, verified, and loaded into simulated meters that lock their factory path.
 */
export async function mintProvisionedBatch(options: {
  dir: string;
  count: number;
  prefix: string;
  bootstrapUri: string;
  bootstrapTrustAnchorPem: string;
  credential?: 'certificate' | 'psk';
  caDir?: string;
  caEnv?: Record<string, string>;
  /** The model enrollment records (the OTA distributor's device class); EM300 by default. */
  model?: string;
}): Promise<MintedBatch> {
  const { dir } = options;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caEnv = options.caEnv ?? { METERKEEP_CA_PASSPHRASE: randomBytes(18).toString('base64url') };
  const caDir = options.caDir ?? join(dir, 'ca');
  if (!options.caDir)
    await runBuiltCli('factory', ['ca', 'init', '--out', caDir, '--name', 'Test Meters'], caEnv);

  const anchor = join(dir, 'bootstrap-ca.pem');
  writeFileSync(anchor, options.bootstrapTrustAnchorPem);
  const updateKey = join(dir, 'update.pub.pem');
  const updateAuthorityKeyFile = join(dir, 'update.key.pem');
  const { generateKeyPairSync } = await import('node:crypto');
  const authority = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(updateKey, authority.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(updateAuthorityKeyFile, authority.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const batchDir = join(dir, 'batch');
  await runBuiltCli(
    'factory',
    [
      'batch',
      'create',
      '--count',
      String(options.count),
      '--model',
      options.model ?? 'EM300',
      '--prefix',
      options.prefix,
      '--credential',
      options.credential ?? 'certificate',
      '--ca',
      caDir,
      '--out',
      batchDir,
      '--bootstrap-uri',
      options.bootstrapUri,
      '--bootstrap-trust-anchor',
      anchor,
      '--update-authority-key',
      updateKey,
      '--vendor-id',
      'test',
      '--class-id',
      'em300',
    ],
    caEnv,
    { timeoutMs: fleetCliTimeoutMs(options.count) },
  );
  const statesDir = join(dir, 'meters');
  await runBuiltCli(
    'meter-sim',
    ['provision', '--batch', batchDir, '--manufacturer-ca', join(caDir, 'root.pem'), '--state', statesDir],
    {},
    { timeoutMs: fleetCliTimeoutMs(options.count) },
  );
  const endpointNames = readFileSync(join(batchDir, 'enrollment-list.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((row) => row.split(',')[0]!);
  return { dir, caDir, batchDir, statesDir, caEnv, endpointNames, updateAuthorityKeyFile };
}

/**
 * What a utility does with a batch: trust its manufacturer CA (the factory proves possession of the
 * CA key), then upload its enrollment list. Returns the upload report.
 */
export async function enrollBatch(
  api: Api,
  batch: MintedBatch,
  options: { trustCa: boolean },
): Promise<unknown> {
  if (options.trustCa) {
    const registered = await api('POST', '/v1/manufacturer-cas', {
      certificatePem: readFileSync(join(batch.caDir, 'intermediate.pem'), 'utf8'),
    });
    if (registered.status !== 201)
      throw new Error(`CA registration answered ${registered.status}: ${JSON.stringify(registered.body)}`);
    const { caId, verificationCode } = registered.body as { caId: string; verificationCode: string };
    const proof = join(batch.dir, 'ca-proof.pem');
    await runBuiltCli(
      'factory',
      ['ca', 'prove', '--ca', batch.caDir, '--code', verificationCode, '--out', proof],
      batch.caEnv,
    );
    const verified = await api('POST', `/v1/manufacturer-cas/${caId}/verification`, {
      certificatePem: readFileSync(proof, 'utf8'),
    });
    if (verified.status !== 200)
      throw new Error(`CA verification answered ${verified.status}: ${JSON.stringify(verified.body)}`);
  }
  const upload = await api(
    'POST',
    '/v1/enrollment-lists',
    readFileSync(join(batch.batchDir, 'enrollment-list.csv'), 'utf8'),
    'text/csv',
  );
  if (upload.status !== 200 && upload.status !== 201) {
    throw new Error(`enrollment list upload answered ${upload.status}: ${JSON.stringify(upload.body)}`);
  }
  return upload.body;
}
