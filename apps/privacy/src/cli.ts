#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './key-epochs/kek-cli';

// node dist/apps/privacy/src/cli.js kek status | kek rotate [--force]
runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`privacy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
