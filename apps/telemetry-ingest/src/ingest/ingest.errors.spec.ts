import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TELEMETRY_BATCH_POST,
  TELEMETRY_BATCH_REFUSALS,
  TELEMETRY_ITEM_REFUSALS,
  type TelemetryBatchRefusalCode,
} from '@meterkeep/contracts';
import { declaredRefusalCodes, httpStatusOf } from '@meterkeep/service-runtime';
import { INGEST_ERRORS } from './ingest.errors';

const SRC = join(__dirname, '..');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts') && !entry.name.includes('.spec.')
        ? [join(dir, entry.name)]
        : [],
  );
}

/**
 * Codes written out in the ingest's source: DomainErrors built by hand (the internal data-key client
 * still builds its own) and `code: '…'` literals (a sender's verdict, a refused reading).
 */
function codeLiterals(): { code: string; file: string }[] {
  return sources().flatMap((file) =>
    [
      ...readFileSync(file, 'utf8').matchAll(
        /new DomainError\(\s*'[a-z-]+',\s*'([A-Z][A-Z0-9_]*)'|\bcode: '([A-Z][A-Z0-9_]*)'/g,
      ),
    ].map((match) => ({ code: (match[1] ?? match[2])!, file: relative(SRC, file) })),
  );
}

describe("the ingest's refusals", () => {
  it('answer with the status the contract gives each code', () => {
    for (const [code, status] of Object.entries(TELEMETRY_BATCH_REFUSALS))
      expect(httpStatusOf(INGEST_ERRORS.definitions[code as TelemetryBatchRefusalCode].kind), code).toBe(
        status,
      );
  });

  it('are each declared by the batch route of the contract, under their status', () => {
    for (const [code, status] of Object.entries(TELEMETRY_BATCH_REFUSALS))
      expect(declaredRefusalCodes(TELEMETRY_BATCH_POST, status), code).toContain(code);
  });

  it('are all in the contract: every code the ingest writes out is a batch or an item refusal of it', () => {
    const known = new Set<string>([...Object.keys(TELEMETRY_BATCH_REFUSALS), ...TELEMETRY_ITEM_REFUSALS]);
    const found = codeLiterals();
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter(({ code }) => !known.has(code))).toEqual([]);
  });
});
