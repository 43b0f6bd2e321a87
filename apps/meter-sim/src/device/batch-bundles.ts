import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Streams the bundles of a factory batch folder (bundles/chunk-*.jsonl), one JSON text at a time. */
export async function* batchBundles(batchDir: string): AsyncGenerator<string> {
  const dir = join(batchDir, 'bundles');
  const chunks = readdirSync(dir)
    .filter((name) => /^chunk-\d+\.jsonl$/.test(name))
    .sort();
  for (const chunk of chunks) {
    const lines = createInterface({ input: createReadStream(join(dir, chunk)), crlfDelay: Infinity });
    for await (const line of lines) if (line.trim() !== '') yield line;
  }
}
