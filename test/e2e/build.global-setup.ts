import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** End-to-end suites run the services as built, the way they are shipped. */
export default function buildServices() {
  execFileSync(process.execPath, [resolve(__dirname, '../../tools/build.mjs')], { stdio: 'inherit' });
}
