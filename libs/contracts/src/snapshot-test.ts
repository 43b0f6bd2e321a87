import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

const updating = process.env.UPDATE_CONTRACT_SNAPSHOTS === '1';

/**
 * Holds a contract's JSON Schema to its committed snapshot (for the specs of topics and HTTP routes).
 * An incompatible change never overwrites the snapshot: it needs a new version of the contract.
 * A compatible one fails until `npm run contracts:snapshot` (UPDATE_CONTRACT_SNAPSHOTS=1) writes it.
 */
export function expectCommittedSchema(options: {
  name: string;
  file: string;
  current: unknown;
  problems: (committed: unknown, current: unknown) => string[];
  /** What an incompatible change must become instead, e.g. "a new topic version". */
  newVersion: string;
}): void {
  const { name, file, current } = options;
  if (!existsSync(file)) {
    if (!updating) throw new Error(`No committed schema for ${name}: run npm run contracts:snapshot`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
    return;
  }
  const committed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  expect(
    options.problems(committed, current),
    `${name} changed incompatibly; publish it as ${options.newVersion}`,
  ).toEqual([]);
  if (updating) writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
  else expect(current, `${name} changed compatibly: run npm run contracts:snapshot`).toEqual(committed);
}
