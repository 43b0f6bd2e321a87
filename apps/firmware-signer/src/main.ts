import { runCli } from './cli';

// The update authority's offline signing tool. It never runs in the cluster and never logs a key.
runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`firmware-signer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
