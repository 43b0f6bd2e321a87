import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A simulated meter's non-volatile memory: one folder per meter, files written whole (temp, rename),
 * so a meter restarted mid-write finds either the old content or the new one.
 */
export class MeterStorage {
  constructor(readonly dir: string) {}

  read(name: string): string | undefined {
    const file = join(this.dir, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  write(name: string, content: string | Uint8Array): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, name);
    writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  readBytes(name: string): Buffer | undefined {
    const file = join(this.dir, name);
    return existsSync(file) ? readFileSync(file) : undefined;
  }

  has(name: string): boolean {
    return existsSync(join(this.dir, name));
  }

  remove(name: string): void {
    rmSync(join(this.dir, name), { force: true });
  }

  /** The file's path, for content written in place (a download's partial file). */
  pathOf(name: string): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return join(this.dir, name);
  }
}
