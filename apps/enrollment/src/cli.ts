#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli/enrollment-cli';
import { runVerifyDecommission } from './cli/verify-decommission-cli';

// node dist/apps/enrollment/src/cli.js tenant create <tenantId> [--name <name>]
// node dist/apps/enrollment/src/cli.js tenant recover <tenantId> --reason "<text>"   (break-glass)
// node dist/apps/enrollment/src/cli.js verify-decommission --record <json> --public-key <pem> [...]
const argv = process.argv.slice(2);
const io = {
  env: process.env,
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};
(argv[0] === 'verify-decommission' ? runVerifyDecommission(argv.slice(1), io) : runCli(argv, io)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`enrollment: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
