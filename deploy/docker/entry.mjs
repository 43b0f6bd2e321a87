// Container entry point: runs the one service named by the first argument (or $SERVICE) in this very
// process, so node stays PID 1 and receives SIGTERM itself (see the Dockerfile's note on signals).
import { createRequire } from 'node:module';

export const SERVICES = ['enrollment', 'bootstrap', 'telemetry-ingest', 'ota-distributor', 'privacy'];

const name = process.argv[2] ?? process.env.SERVICE;
if (!SERVICES.includes(name)) {
  process.stderr.write(
    `meterkeep: unknown service ${JSON.stringify(name ?? '')}: pass one of ${SERVICES.join(', ')} as the argument or SERVICE\n`,
  );
  process.exit(64);
}
createRequire(import.meta.url)(`./dist/apps/${name}/src/main.js`);
