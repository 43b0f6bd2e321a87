import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, found from here whether this runs from source or from dist/. */
export function findWorkspaceRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No nx.json above ${from}: not inside the Meterkeep workspace`);
  }
}
