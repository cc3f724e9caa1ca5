// Host names in `server` and `proxy_pass` are resolved once, while the configuration loads, as
// nginx's ngx_inet_resolve_host does with getaddrinfo. Loading is synchronous, so a name that is
// not an address literal is looked up by a short-lived child running the system resolver.
import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';

const LOOKUP = `require('node:dns').lookup(process.argv[1], { all: true, order: 'verbatim' }, (err, list) => {
  process.stdout.write(JSON.stringify(err ? null : list.map((a) => a.address)));
});`;

/** Answers kept briefly so one load resolves each name once. */
const cache = new Map<string, { addresses: string[] | null; at: number }>();
const CACHE_MS = 2000;

/** Every address of `host` in resolver order, or null when it does not resolve. */
export function resolveHostSync(host: string): string[] | null {
  if (isIP(host) !== 0) return [host];
  const key = host.toLowerCase();
  const hit = cache.get(key);
  if (hit !== undefined && Date.now() - hit.at < CACHE_MS) return hit.addresses;
  const out = spawnSync(process.execPath, ['-e', LOOKUP, key], { encoding: 'utf8', timeout: 30_000 });
  let addresses: string[] | null = null;
  try {
    const parsed = JSON.parse(out.stdout) as string[] | null;
    addresses = parsed !== null && parsed.length > 0 ? [...new Set(parsed)] : null;
  } catch {
    addresses = null;
  }
  cache.set(key, { addresses, at: Date.now() });
  return addresses;
}

/** `127.0.0.1:80` or `[::1]:80`, as nginx prints peer names. */
export function peerName(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
