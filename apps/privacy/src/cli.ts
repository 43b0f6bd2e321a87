#!/usr/bin/env node
import 'reflect-metadata';
import { runVerifyErasure } from './erasures/verify-erasure-cli';
import { runReadingsBackfill } from './exports/readings-backfill-cli';
import { runCli } from './key-epochs/kek-cli';

// node dist/apps/privacy/src/cli.js kek status | kek rotate [--force]
//                                   verify-erasure <certificate.json> --public-key <pem>
//                                   verify-erasure --certificate-file <certificate.json> --public-key <pem>
//                                   verify-erasure --erasure-id <er-…> --subject <ref> --public-key <pem>
//                                   readings-index backfill [--batch N] [--rescan]
const argv = process.argv.slice(2);
const io = {
  env: process.env,
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};
(argv[0] === 'verify-erasure'
  ? runVerifyErasure(argv.slice(1), io)
  : argv[0] === 'readings-index'
    ? runReadingsBackfill(argv.slice(1), io)
    : runCli(argv, io)
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`privacy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
