// Runs a real `zonesync cluster` (the runner, its nodes and its responder) for end-to-end tests: in
// a temp prefix, on 127.0.0.{first}... so test files don't share addresses, with free ports written
// into the configuration (the responder listens at the configuration's resolver: never 49153).
// The runner is stopped by stop(); at exit, it and every node it started are killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addressOf, commonFreePort, type NodeEnv } from '../helpers/cluster.ts';
import { BIN, freePort, httpRequest, runZonesync, waitFor } from '../helpers/instance.ts';

const running = new Set<{ proc: ChildProcess; prefix: string }>();
process.on('exit', () => {
  for (const r of running) {
    r.proc.kill('SIGKILL');
    for (const pid of nodePids(r.prefix)) killQuietly(pid);
  }
});

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function nodePids(prefix: string): number[] {
  const pids: number[] = [];
  for (let i = 1; i <= 8; i++) {
    const pid = readPid(prefix, i);
    if (pid !== undefined) pids.push(pid);
  }
  return pids;
}

function readPid(prefix: string, index: number): number | undefined {
  try {
    return Number.parseInt(readFileSync(path.join(prefix, `nodes/${index}/logs/zonesync.pid`), 'latin1'), 10);
  } catch {
    return undefined;
  }
}

export interface RunnerOptions {
  /** Last octet of node 1's address; give every test file its own range. */
  readonly first: number;
  readonly nodes?: number;
  /** The configuration (the same for every node); `index` and `address` are node 1's. */
  readonly conf: (env: NodeEnv) => string;
  readonly files?: Record<string, string>;
}

export interface RunningCluster {
  readonly prefix: string;
  readonly env: NodeEnv;
  readonly address: (i: number) => string;
  /** Everything the runner printed so far (stdout and stderr). */
  output(): string;
  waitOutput(pattern: RegExp, ms?: number): Promise<void>;
  /** `zonesync cluster ARGS -p PREFIX`. */
  ctl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The addresses DNS answers for the cluster name now. */
  members(): Promise<string[]>;
  /** The pid in node i's pid file. */
  pid(i: number): number | undefined;
  /** GET the API path on node i, parsed. */
  api<T>(i: number, urlPath: string): Promise<T>;
  errorLog(i: number): string;
  /** SIGTERM the runner; resolves to its exit code. */
  stop(): Promise<number | null>;
}

export async function startRunner(opts: RunnerOptions): Promise<RunningCluster> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'zonesync-cluster-'));
  const address = (i: number) => addressOf(opts.first, i - 1);
  const all = Array.from({ length: 6 }, (_, i) => address(i + 1));
  const syncPort = await commonFreePort(all);
  let httpPort = await commonFreePort(all);
  while (httpPort === syncPort) httpPort = await commonFreePort(all);
  const env: NodeEnv = {
    index: 0,
    address: address(1),
    httpPort,
    syncPort,
    dns: `127.0.0.1:${await freePort()}`,
    name: 'cluster.test',
  };
  writeFileSync(path.join(prefix, 'cluster.conf'), `error_log logs/error.log info;\n${opts.conf(env)}`);
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(path.dirname(path.join(prefix, rel)), { recursive: true });
    writeFileSync(path.join(prefix, rel), text);
  }
  const args = ['cluster', '-p', prefix, '-c', 'cluster.conf', '--nodes', String(opts.nodes ?? 3)];
  const proc = spawn(BIN, [...args, '--first-address', address(1)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { proc, prefix };
  running.add(entry);
  let output = '';
  proc.stdout?.on('data', (d) => {
    output += d;
  });
  proc.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const cluster: RunningCluster = {
    prefix,
    env,
    address,
    output: () => output,
    async waitOutput(pattern, ms = 15_000) {
      const seen = () => {
        if (pattern.test(output)) return true;
        if (proc.exitCode !== null) throw new Error(`the runner exited with ${proc.exitCode}`);
        return false;
      };
      await waitFor(seen, ms, `${pattern} in the runner's output`).catch((e: Error) => {
        throw new Error(`${e.message}:\n${output}`);
      });
    },
    ctl: (...a) => runZonesync(['cluster', ...a, '-p', prefix]),
    async members() {
      const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
      resolver.setServers([env.dns]);
      return (await resolver.resolve4(env.name)).sort();
    },
    pid: (i) => readPid(prefix, i),
    async api<T>(i: number, urlPath: string) {
      const res = await httpRequest(httpPort, `/api/9${urlPath}`, {}, address(i));
      if (res.status !== 200) throw new Error(`GET /api/9${urlPath} on node ${i}: ${res.status} ${res.text}`);
      return JSON.parse(res.text) as T;
    },
    errorLog(i) {
      try {
        return readFileSync(path.join(prefix, `nodes/${i}/logs/error.log`), 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      // After `cluster stop` the runner is already on its way out, and a SIGTERM that lands during
      // Node's own teardown ends it by the signal (exit code null): give it a moment first.
      if (proc.exitCode === null) await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      // A runner that did not stop cleanly may have left nodes behind.
      if (code !== 0) for (const pid of nodePids(prefix)) killQuietly(pid);
      running.delete(entry);
      rmSync(prefix, { recursive: true, force: true });
      return code;
    },
  };
  try {
    await cluster.waitOutput(/control: zonesync cluster/, 30_000);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
