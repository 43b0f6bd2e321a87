import { runCli } from './cli/cli';

// The OEM line's CLI. SIGINT/SIGTERM abort long commands cleanly (what is done stays done); a second
// signal ends the process at once.
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort());
}

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`factory: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
