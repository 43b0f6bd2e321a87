import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { addYears } from '@meterkeep/factory-bundle';
import { createRootCa, generateKeyPair, publicKeyToPem, spkiOf } from '@meterkeep/pki';

export const workspaceRoot = resolve(__dirname, '../../..');
export const PASSPHRASE = 'factory test passphrase';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The factory CLI as a process, built from this checkout. The build goes to dist/ (what `npm run
 * factory` runs), then is copied to a private directory under tmp/ inside the workspace, so node
 * still finds node_modules and another build of dist/ running meanwhile cannot pull files away.
 */
export class FactoryCli {
  readonly main: string;
  private readonly copy: string;

  constructor() {
    execFileSync(process.execPath, [join(workspaceRoot, 'tools/build.mjs')], {
      cwd: workspaceRoot,
      stdio: 'pipe',
    });
    mkdirSync(join(workspaceRoot, 'tmp'), { recursive: true });
    this.copy = mkdtempSync(join(workspaceRoot, 'tmp', 'factory-cli-'));
    for (const part of ['dist/apps/factory', 'dist/libs']) {
      cpSync(join(workspaceRoot, part), join(this.copy, part), { recursive: true });
    }
    this.main = join(this.copy, 'dist/apps/factory/src/main.js');
  }

  spawn(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(process.execPath, [this.main, ...args], {
      cwd: workspaceRoot,
      env: { PATH: process.env.PATH, METERKEEP_CA_PASSPHRASE: PASSPHRASE, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolvePromise, reject) => {
      const child = this.spawn(args, env);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  cleanup(): void {
    rmSync(this.copy, { recursive: true, force: true });
  }
}

/** A scratch directory with what a batch needs besides the CA: a bootstrap trust anchor and an update key. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'meterkeep-factory-'));

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  write(name: string, content: string | Uint8Array): string {
    const path = this.path(name);
    writeFileSync(path, content);
    return path;
  }

  /** The bootstrap server's CA, as the utility would hand it to the factory. */
  bootstrapTrustAnchor(): string {
    const now = new Date();
    const ca = createRootCa({
      subject: { organization: 'Utility', commonName: 'Utility Bootstrap CA' },
      validity: { notBefore: now, notAfter: addYears(now, 20) },
    });
    return this.write('bootstrap-ca.pem', ca.certificate.pem);
  }

  updateKey(): string {
    return this.write('update-authority.pub.pem', publicKeyToPem(spkiOf(generateKeyPair().publicKey)));
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every bundle line of a batch directory, in chunk order. */
export function bundleLines(batchDir: string): string[] {
  const dir = join(batchDir, 'bundles');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .flatMap((name) =>
      readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
    );
}

export function openssl(...args: string[]): { status: number | null; output: string } {
  try {
    const stdout = execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, output: stdout };
  } catch (error) {
    const e = error as { status: number | null; stdout?: string; stderr?: string };
    return { status: e.status, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
