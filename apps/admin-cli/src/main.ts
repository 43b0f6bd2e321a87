#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { runAdminCli } from './admin-cli';

// node dist/apps/admin-cli/src/main.js devices list --state ACTIVE
runAdminCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  // Files named on the command line are the operator's own; bounded all the same (an enrollment list
  // of 1,000,000 rows is well under this).
  readFile: async (path) => {
    const text = await readFile(path, 'utf8');
    if (text.length > 512 * 1024 * 1024) throw Object.assign(new Error('too large'), { code: 'EFBIG' });
    return text;
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`meterkeep-admin: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
