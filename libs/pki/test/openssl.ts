import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the openssl CLI as an outside check; files live in a temp dir removed by `cleanup`. */
export class OpensslWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'meterkeep-pki-'));

  write(name: string, content: string | Uint8Array): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  run(...args: string[]): { status: number | null; output: string } {
    const result = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
    if (result.error) throw result.error;
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
