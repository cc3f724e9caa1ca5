// One instance of the cluster: a `zonesync -p PREFIX/nodes/N/ -c CONF --listen-address ADDRESS`
// child the runner keeps alive. An exit nobody asked for is reported and followed by a new start
// after the backoff's wait; stop() and reload() are the signals nginx answers (QUIT, TERM, HUP).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { Backoff } from './backoff.ts';

/** Entries of the cluster prefix each node keeps its own of; everything else is linked. */
const PER_NODE = new Set(['nodes', 'logs', 'state']);

/** The command line that runs this CLI again: `node [flags] main.ts`. */
function self(args: string[]): [string, string[]] {
  return [process.execPath, [...process.execArgv, process.argv[1], ...args]];
}

/**
 * Make `nodePrefix` a view of `clusterPrefix` for one instance: its own `logs/` and `state/`
 * (error log, pid file, state files), and a symbolic link to every other entry but dot files
 * (`html`, `tls`, `mime.types` ...), so the configuration's relative paths work unchanged.
 */
export function prepareNodePrefix(clusterPrefix: string, nodePrefix: string): void {
  for (const dir of PER_NODE) if (dir !== 'nodes') mkdirSync(path.join(nodePrefix, dir), { recursive: true });
  for (const name of readdirSync(clusterPrefix)) {
    const link = path.join(nodePrefix, name);
    // Dot files stay out: git, for one, refuses a `.gitignore` that is a symbolic link.
    if (PER_NODE.has(name) || name.startsWith('.') || existsSync(link) || isSymlink(link)) continue;
    symlinkSync(path.relative(nodePrefix, path.join(clusterPrefix, name)), link);
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export type NodeState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface NodeOptions {
  readonly index: number;
  readonly address: string;
  readonly prefix: string;
  /** The configuration file and the pid file path, read at every (re)start. */
  readonly config: () => { confFile: string; pidPath: string };
  readonly say: (line: string) => void;
  readonly backoff?: Backoff;
}

export class ClusterNode {
  readonly index: number;
  readonly address: string;
  readonly prefix: string;
  private readonly options: NodeOptions;
  private readonly backoff: Backoff;
  private proc: ChildProcess | null = null;
  private wanted = false;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  state: NodeState = 'stopped';
  restarts = 0;

  constructor(options: NodeOptions) {
    this.options = options;
    this.index = options.index;
    this.address = options.address;
    this.prefix = options.prefix;
    this.backoff = options.backoff ?? new Backoff();
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get uptimeMs(): number {
    return this.state === 'running' ? Date.now() - this.startedAt : 0;
  }

  get label(): string {
    return `node ${this.index} (${this.address})`;
  }

  private args(confFile: string, extra: string[] = []): string[] {
    return ['-p', this.prefix, '-c', confFile, '--listen-address', this.address, ...extra];
  }

  /** `zonesync -t` of `confFile` with this node's prefix and address: null, or the errors. */
  test(confFile: string): Promise<string | null> {
    const [cmd, args] = self(this.args(confFile, ['-t', '-q']));
    return new Promise((resolve) => {
      execFile(cmd, args, { timeout: 20_000 }, (error, _stdout, stderr) =>
        resolve(error ? stderr.trim() || error.message : null),
      );
    });
  }

  /** Start the instance; resolves once it wrote its pid file, rejects if it exits first. */
  start(): Promise<void> {
    this.wanted = true;
    return this.spawn();
  }

  private spawn(): Promise<void> {
    const { confFile, pidPath } = this.options.config();
    const [cmd, args] = self(this.args(confFile));
    // Its own process group: a Ctrl-C in the terminal reaches the runner, which stops the nodes.
    const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.proc = proc;
    this.state = 'starting';
    this.startedAt = Date.now();
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      for (const line of chunk.trimEnd().split('\n'))
        if (line !== '') this.options.say(`${this.label}: ${line}`);
    });
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        if (readPid(pidPath) !== proc.pid) return;
        clearInterval(poll);
        this.state = 'running';
        resolve();
      }, 25);
      proc.on('exit', (code, signal) => {
        clearInterval(poll);
        const wasStarting = this.state === 'starting';
        if (wasStarting) reject(new Error(`${this.label} exited at start: ${stderr.trim() || code}`));
        if (this.proc === proc) this.exited(code, signal);
      });
    });
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.proc = null;
    if (!this.wanted) {
      this.state = 'stopped';
      return;
    }
    const wait = this.backoff.next(Date.now() - this.startedAt);
    this.state = 'restarting';
    this.options.say(`${this.label} exited (${signal ?? `code ${code}`}); restarting in ${wait / 1000}s`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.restarts++;
      this.spawn().then(
        () => this.options.say(`${this.label} restarted, pid ${this.pid}`),
        () => {}, // exited again: exited() reported it and waits longer
      );
    }, wait);
  }

  reload(): void {
    this.proc?.kill('SIGHUP');
  }

  /** Stop for good: QUIT lets open requests finish, TERM does not; KILL after `killAfterMs`. */
  async stop(signal: 'SIGQUIT' | 'SIGTERM', killAfterMs = 15_000): Promise<void> {
    this.wanted = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const proc = this.proc;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    const kill = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(kill);
  }
}

function readPid(pidPath: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(pidPath, 'latin1'), 10);
  } catch {
    return undefined;
  }
}
