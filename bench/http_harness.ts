// What the HTTP benchmarks share: servers started from a config text, wrk runs, and the server's
// CPU time per request read from /proc (steadier than req/s on this shared machine).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, canConnect, freePort, waitFor } from '../test/helpers/instance.ts';

export interface Run {
  rps: number;
  p99ms: number;
  cpuUsPerReq: number;
}

/** A server's main configuration around its `http` block's contents, the same for both servers. */
export function mainConf(http: string, nginx: boolean): string {
  return `${nginx ? 'worker_processes 1; daemon off; master_process off;' : ''}
error_log logs/error.log crit;
pid logs/server.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type text/html;
  ${http}
}`;
}

/**
 * The process's CPU time in ns, summed over its threads' schedstat: exact, where /proc/PID/stat's
 * utime+stime comes in 10 ms ticks (a 2 s window at half a CPU would be only 100 of them).
 */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'latin1').split(' ')[0]);
    } catch {} // a thread that ended between the listing and the read
  }
  return ns;
}

/** wrk's Lua script sending `n` requests at once on each connection. */
function pipelineScript(n: number): string {
  const file = path.join(os.tmpdir(), `zonesync-bench-pipeline-${n}.lua`);
  writeFileSync(
    file,
    `init = function(args)\n  local r = {}\n  for i = 1, ${n} do r[i] = wrk.format(nil, wrk.path) end\n  req = table.concat(r)\nend\nrequest = function() return req end\n`,
  );
  return file;
}

type WrkResult = { rps: number; p99ms: number; requests: number };

function wrkArgs(url: string, seconds: number, pipeline: number): string[] {
  const script = pipeline > 1 ? ['-s', pipelineScript(pipeline)] : [];
  return ['-t1', '-c64', `-d${seconds}s`, '--latency', ...script, url];
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const unit = p99?.[2] === 'us' ? 0.001 : p99?.[2] === 's' ? 1000 : 1;
  if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers during the benchmark:\n${out}`);
  return { rps, p99ms: Number(p99?.[1]) * unit, requests };
}

function wrk(url: string, seconds: number, pipeline: number): WrkResult {
  const options = { encoding: 'utf8', timeout: (seconds + 30) * 1000 } as const;
  return parseWrk(execFileSync('wrk', wrkArgs(url, seconds, pipeline), options));
}

/** One wrk run of `seconds` against `url`, after a one-second warm-up unless `warm` is false. */
export function measure(proc: ChildProcess, url: string, seconds: number, pipeline = 1, warm = true): Run {
  if (warm) wrk(url, 1, pipeline); // JIT, caches, connections; its numbers are dropped
  const before = cpuNs(proc.pid!);
  const r = wrk(url, seconds, pipeline);
  return { rps: r.rps, p99ms: r.p99ms, cpuUsPerReq: (cpuNs(proc.pid!) - before) / 1000 / r.requests };
}

/** Pin every thread of `pid` (and the threads it starts later) to CPU 0. */
export function pinToCpu0(pid: number): void {
  execFileSync('taskset', ['-a', '-p', '1', String(pid)], { stdio: 'ignore' });
}

/**
 * One wrk per job at the same time, all on CPU 1, while the servers share CPU 0: whatever the
 * machine does meanwhile, it does to every server alike (the paired method of docs/benchmarks.md).
 */
export async function measureTogether(
  jobs: { pid: number; url: string }[],
  seconds: number,
  pipeline = 1,
): Promise<Run[]> {
  const before = jobs.map((j) => cpuNs(j.pid));
  const outs = await Promise.all(
    jobs.map(
      (j) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn('taskset', ['2', 'wrk', ...wrkArgs(j.url, seconds, pipeline)]);
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`))));
        }),
    ),
  );
  return outs.map((out, i) => {
    const r = parseWrk(out);
    const ns = cpuNs(jobs[i]!.pid) - before[i]!;
    return { rps: r.rps, p99ms: r.p99ms, cpuUsPerReq: ns / 1000 / r.requests };
  });
}

export type ServerKind = 'nginx' | 'zonesync';

/** nginx or zonesync on a free port with `conf(port)` as its configuration; html/file.html is 1 KiB. */
export async function startServer(
  kind: ServerKind,
  conf: (port: number) => string,
  dir: string,
): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const prefix = path.join(dir, `${kind}-${port}`);
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  mkdirSync(path.join(prefix, 'html'));
  writeFileSync(path.join(prefix, 'html/file.html'), 'x'.repeat(1024));
  writeFileSync(path.join(prefix, 'bench.conf'), conf(port));
  const proc =
    kind === 'nginx'
      ? spawn('nginx', ['-p', `${prefix}/`, '-c', 'bench.conf'], { stdio: 'ignore' })
      : spawn(BIN, ['-p', prefix, '-c', 'bench.conf'], { stdio: 'ignore' });
  await waitFor(() => canConnect(port), 10000, `${kind} listening`);
  return { proc, port };
}

/** Busy share of all CPUs (user+nice+system+irq+softirq) over `ms`. */
async function busyShare(ms: number): Promise<number> {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, all: f.slice(0, 8).reduce((a, b) => a + b, 0) };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  return (b.busy - a.busy) / Math.max(1, b.all - a.all);
}

/**
 * Wait until the machine is idle (under 10% busy for half a second), at most a minute, so that
 * other work on it (a test run) does not land in one server's rounds.
 */
export async function waitQuiet(): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await busyShare(500)) > 0.1 && Date.now() < until) {}
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
