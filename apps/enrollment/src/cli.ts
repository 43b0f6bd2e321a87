#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli/enrollment-cli';

// node dist/apps/enrollment/src/cli.js tenant create <tenantId> [--name <name>]
// node dist/apps/enrollment/src/cli.js tenant recover <tenantId> --reason "<text>"   (break-glass)
runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`enrollment: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
