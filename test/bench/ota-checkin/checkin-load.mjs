// The bench's load client, run as its own process (its arguments in the JSON file named first): `concurrency` meters, each on its own keep-alive
// mutual-TLS connection with its own operational certificate, polling GET <path> back to back for
// `durationMs`, sending If-None-Match with the last ETag it was given (the meters' no-change path).
// Prints one JSON line: requests, statuses, p50/p99 latency, elapsed time.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

const { url, path, meters, concurrency, durationMs, caPem } = JSON.parse(
  readFileSync(process.argv[2], 'utf8'),
);
const target = new URL(url);
const latencies = [];
const statuses = {};
let errors = 0;

function get(agent, etag) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path,
        method: 'GET',
        agent,
        headers: etag ? { 'if-none-match': etag } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - started);
          resolve({ status: res.statusCode, etag: res.headers.etag ?? etag });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function agentFor(index) {
  const meter = meters[index % meters.length];
  return new Agent({
    keepAlive: true,
    maxSockets: 1,
    cert: meter.certPem,
    key: meter.keyPem,
    ca: caPem,
    servername: target.hostname,
  });
}

// Every connection is set up (handshake and a first 200 giving the ETag) before the clock starts.
const agents = Array.from({ length: concurrency }, (_, i) => agentFor(i));
const etags = await Promise.all(agents.map((agent) => get(agent, undefined).then((a) => a.etag)));
latencies.length = 0;

const started = performance.now();
const deadline = started + durationMs;
await Promise.all(
  agents.map(async (agent, i) => {
    let etag = etags[i];
    while (performance.now() < deadline) {
      try {
        const answer = await get(agent, etag);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        etag = answer.etag;
      } catch {
        errors++;
      }
    }
    agent.destroy();
  }),
);
const elapsedMs = performance.now() - started;
const sorted = latencies.sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    requests,
    statuses,
    errors,
    elapsedMs,
    p50Ms: Number(pct(50).toFixed(2)),
    p99Ms: Number(pct(99).toFixed(2)),
  }),
);
