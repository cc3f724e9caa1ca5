// The example cluster (examples/cluster.conf) uses fixed addresses: 127.0.0.1-3 on ports
// 8080-8082, 8090 and 9000, and the DNS responder on 127.0.0.1:49153. Tests and benchmarks that
// bind any of them take this lock, so two of them (or two checkouts tested at once) never overlap.
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
export const TCP_PORTS = [8080, 8081, 8082, 8090, 9000];
export const DNS = { host: '127.0.0.1', port: 49153 };

const LOCK = path.join(os.tmpdir(), 'zonesync-example-cluster.lock');

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the lock (waiting up to `ms` for its holder); returns its release. */
export async function lock(ms: number): Promise<() => void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // A holder that died leaves the directory behind: take it over.
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(path.join(LOCK, 'pid'), 'latin1'));
    } catch {
      // Not written yet (or gone): stale only if old.
    }
    const stale = Number.isInteger(holder)
      ? !alive(holder)
      : Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 10_000;
    if (stale) rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`${LOCK} is held by pid ${holder}`);
    else await new Promise((r) => setTimeout(r, 250));
  }
}

/** True when `port` on `host` can be bound now (TCP, or UDP). */
export function bindable(host: string, port: number, udp = false): Promise<boolean> {
  return new Promise((resolve) => {
    if (udp) {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
      return;
    }
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** The example cluster's addresses that something else holds now. */
export async function busy(): Promise<string[]> {
  const taken: string[] = [];
  for (const host of ADDRESSES)
    for (const port of TCP_PORTS) if (!(await bindable(host, port))) taken.push(`${host}:${port}`);
  if (!(await bindable(DNS.host, DNS.port))) taken.push(`${DNS.host}:${DNS.port}`);
  if (!(await bindable(DNS.host, DNS.port, true))) taken.push(`${DNS.host}:${DNS.port}/udp`);
  return taken;
}
