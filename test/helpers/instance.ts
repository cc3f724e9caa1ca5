// Starts real bin/zonesync processes on loopback for end-to-end tests, each in its own temp prefix,
// and talks raw HTTP/1.1 to them. Every process started here is killed when the test process exits.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/zonesync');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** A port nobody listens on right now (the kernel's pick). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface Response {
  status: number;
  statusLine: string;
  /** Lowercased names; repeated headers joined with '\n'. */
  headers: Record<string, string>;
  rawHeaders: [string, string][];
  body: Buffer;
  text: string;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  host?: string;
}

/** Parse one HTTP/1.1 response from raw bytes (Content-Length, chunked, or until close). */
export function parseResponse(raw: Buffer, method = 'GET'): { res: Response; rest: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0)
    throw new Error(`incomplete response head: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0];
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  const rawHeaders: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const name = l.slice(0, i);
    const value = l.slice(i + 1).trim();
    rawHeaders.push([name, value]);
    const k = name.toLowerCase();
    headers[k] = k in headers ? `${headers[k]}\n${value}` : value;
  }
  let body: Buffer;
  let rest: Buffer;
  const after = raw.subarray(end + 4);
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
    rest = after;
  } else if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const le = after.indexOf('\r\n', pos);
      const size = le < 0 ? Number.NaN : Number.parseInt(after.subarray(pos, le).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error(`unfinished or broken chunked body at byte ${pos}`);
      pos = le + 2;
      if (size === 0) {
        pos = after.indexOf('\r\n', pos) + 2;
        break;
      }
      parts.push(after.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
    rest = after.subarray(pos);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    body = after.subarray(0, n);
    rest = after.subarray(n);
  } else {
    body = after;
    rest = Buffer.alloc(0);
  }
  return { res: { status, statusLine, headers, rawHeaders, body, text: body.toString('utf8') }, rest };
}

/** Send raw bytes, collect everything until the server closes (or `timeoutMs`). */
export function rawExchange(
  port: number,
  data: string | Buffer,
  host = '127.0.0.1',
  timeoutMs = 5000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ port, host });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(Buffer.concat(chunks));
    }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(Buffer.concat(chunks));
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    sock.write(data);
  });
}

export async function httpRequest(
  port: number,
  urlPath: string,
  init: RequestInit = {},
  host = '127.0.0.1',
): Promise<Response> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = {
    Host: init.host ?? 'localhost',
    Connection: 'close',
    ...init.headers,
  };
  if (init.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding')) {
    headers['Content-Length'] = String(Buffer.byteLength(init.body));
  }
  let head = `${method} ${urlPath} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const data = Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), Buffer.from(init.body ?? '')]);
  const raw = await rawExchange(port, data, host);
  return parseResponse(raw, method).res;
}

export interface Instance {
  readonly prefix: string;
  readonly port: number;
  readonly ports: number[];
  /** The address requests go to (127.0.0.1, or the --listen-address). */
  readonly host: string;
  readonly proc: ChildProcess;
  request(urlPath: string, init?: RequestInit): Promise<Response>;
  rawRequest(data: string | Buffer, timeoutMs?: number): Promise<string>;
  errorLog(): string;
  accessLog(): string;
  /** Replace the configuration file (same placeholders) — then `signal('SIGHUP')` to reload. */
  writeConf(conf: string): void;
  signal(sig: NodeJS.Signals): void;
  stderr(): string;
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** The configuration; `{{PORT}}`, `{{PORT1}}`..`{{PORT4}}` and `{{PREFIX}}` are substituted. */
  conf: string;
  /** Files to write under the prefix, by relative path. */
  files?: Record<string, string | Buffer>;
  args?: string[];
  /** Wait for this port to accept connections (default: {{PORT}}); false for none. */
  waitPort?: boolean;
  /** Run with `--listen-address ADDRESS`; requests and the readiness check go there. */
  listenAddress?: string;
}

export async function startZonesync(opts: StartOptions): Promise<Instance> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'zonesync-'));
  mkdirSync(path.join(prefix, 'logs'));
  mkdirSync(path.join(prefix, 'conf'));
  const ports = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const subst = (text: string) =>
    text
      .replaceAll('{{PREFIX}}', prefix)
      .replace(/\{\{PORT(\d?)\}\}/g, (_m, n: string) => String(ports[n === '' ? 0 : Number(n)]));
  const writeConf = (conf: string) => {
    const withLog = /^\s*error_log\s/m.test(conf) ? conf : `error_log logs/error.log info;\n${conf}`;
    writeFileSync(path.join(prefix, 'conf/zonesync.conf'), subst(withLog));
  };
  writeConf(opts.conf);
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const p = path.join(prefix, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, typeof content === 'string' ? subst(content) : content);
  }
  const host = opts.listenAddress ?? '127.0.0.1';
  const extra = opts.listenAddress === undefined ? [] : ['--listen-address', opts.listenAddress];
  const proc = spawn(BIN, ['-p', prefix, '-c', 'conf/zonesync.conf', ...extra, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr += d;
  });
  proc.stdout?.resume();
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );
  const inst: Instance = {
    prefix,
    port: ports[0],
    ports,
    host,
    proc,
    request: (p, init) => httpRequest(ports[0], p, init, host),
    rawRequest: async (d, t) => (await rawExchange(ports[0], d, host, t)).toString('latin1'),
    errorLog: () => readIfExists(path.join(prefix, 'logs/error.log')),
    accessLog: () => readIfExists(path.join(prefix, 'logs/access.log')),
    writeConf,
    signal: (sig) => proc.kill(sig),
    stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(t);
        rmSync(prefix, { recursive: true, force: true });
        return code;
      }
      rmSync(prefix, { recursive: true, force: true });
      return proc.exitCode;
    },
  };
  if (opts.waitPort !== false) {
    const deadline = Date.now() + 15000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`zonesync exited with ${proc.exitCode}: ${stderr}`);
      if (await canConnect(ports[0], host)) break;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`zonesync did not listen on ${ports[0]}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return inst;
}

function readIfExists(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Run the CLI to completion: `-t`, `-v`, `-s` ... */
export function runZonesync(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd, timeout: 20000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Poll `check` until it returns true (or fail after `ms`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
