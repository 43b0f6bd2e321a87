// Where a phase's CPU went, by process kind: samples /proc every 500 ms (processes that exit during
// the phase keep their last sample) and prints CPU seconds, cores and CPU per unit of work. Linux only;
// elsewhere it prints nothing. Shared by the benches, so a ratio comes with its cost breakdown.
import { readFileSync, readdirSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on Linux
const KINDS = [
  [/dist\/apps\/([a-z-]+)\/src\/main\.js/, (m) => m[1]],
  [/kafka\.Kafka/, () => 'kafka'],
  [/^postgres/, () => 'postgres'],
  [/\/postgres /, () => 'postgres'],
  [/redis-server/, () => 'redis'],
];

function kindOf(pid, cmdline, names) {
  if (pid === process.pid) return 'bench process (baseline client)';
  if (names[pid]) return names[pid];
  for (const [pattern, name] of KINDS) {
    const m = pattern.exec(cmdline);
    if (m) return name(m);
  }
  return 'other';
}

function snapshot(into, names) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return false;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      let entry = into.get(pid);
      if (!entry) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        into.set(pid, (entry = { kind: kindOf(Number(pid), cmdline, names), first: ticks, last: ticks }));
      }
      entry.last = ticks;
    } catch {
      // exited meanwhile
    }
  }
  return true;
}

/**
 * Starts sampling; `stop(units, unitName)` prints the breakdown and returns CPU seconds by kind.
 * `names` labels processes the patterns do not know, by pid.
 */
export function cpuBudget(names = {}) {
  const processes = new Map();
  const started = performance.now();
  const available = snapshot(processes, names);
  const timer = setInterval(() => snapshot(processes, names), 500);
  return {
    stop(units, unitName) {
      clearInterval(timer);
      if (!available) return new Map();
      snapshot(processes, names);
      const wallS = (performance.now() - started) / 1000;
      const byKind = new Map();
      for (const { kind, first, last } of processes.values())
        byKind.set(kind, (byKind.get(kind) ?? 0) + (last - first) * TICK_S);
      const rows = [...byKind].filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
      const total = rows.reduce((n, [, s]) => n + s, 0);
      const per = (s) =>
        (s / units) * 1e6 >= 1000
          ? `${((s / units) * 1e3).toFixed(2)} ms`
          : `${((s / units) * 1e6).toFixed(2)} µs`;
      console.log(
        `  CPU over ${wallS.toFixed(1)} s (${total.toFixed(1)} s, ${(total / wallS).toFixed(2)} cores), per ${unitName}:`,
      );
      for (const [kind, s] of rows)
        console.log(
          `    ${kind.padEnd(32)} ${s.toFixed(1).padStart(6)} s ${(s / wallS).toFixed(2).padStart(5)} cores ${per(s).padStart(10)}`,
        );
      console.log(
        `    ${'total'.padEnd(32)} ${total.toFixed(1).padStart(6)} s ${(total / wallS).toFixed(2).padStart(5)} cores ${per(total).padStart(10)}`,
      );
      return byKind;
    },
  };
}
