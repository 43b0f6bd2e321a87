// Small helpers the demo steps share: run a CLI of ours, and talk to a service's REST API.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from '../swc-options.mjs';

export const say = (line) => console.log(`demo: ${line}`);

export class DemoError extends Error {}

/** Runs a built CLI (dist/apps/<app>/src/<entry>.js); its stderr (progress) goes to the terminal. */
export function runCli(app, args, options = {}) {
  const { status, stdout } = runCliStatus(app, args, options);
  if (status !== 0) throw new DemoError(`${app} ${args.slice(0, 2).join(' ')} failed (exit ${status})`);
  return stdout;
}

/** As runCli, but a failure is the caller's to judge: the exit status and whatever it printed. */
export function runCliStatus(app, args, { env = {}, entry = 'main', input } = {}) {
  const result = spawnSync(
    process.execPath,
    [join(workspaceRoot, 'dist/apps', app, 'src', `${entry}.js`), ...args],
    {
      env: { ...process.env, ...env },
      input,
      stdio: ['pipe', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { status: result.status, stdout: result.stdout ?? '' };
}

/** One REST call with an API key; a non-2xx answer stops the demo with the service's code and message. */
export async function api(baseUrl, apiKey, method, path, { json, body, contentType } = {}) {
  const send = () =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(json !== undefined && { 'content-type': 'application/json' }),
        ...(contentType && { 'content-type': contentType }),
      },
      body: json !== undefined ? JSON.stringify(json) : body,
      ...(body && typeof body !== 'string' && { duplex: 'half' }),
    });
  // A pooled keep-alive connection the service closed while the demo was busy (a CLI run blocks its
  // event loop) fails the next request before the service read it; it is sent again once, a write too.
  const response = await send().catch((error) =>
    method === 'GET' || ['UND_ERR_SOCKET', 'ECONNRESET'].includes(error.cause?.code)
      ? send()
      : Promise.reject(error),
  );
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok)
    throw new DemoError(`${method} ${path} answered ${response.status}: ${parsed?.code} ${parsed?.message}`);
  return parsed;
}
