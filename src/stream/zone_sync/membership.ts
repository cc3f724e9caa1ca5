// Who this node connects to: the addresses of the zone_sync_server lines. IP literals are used as
// written; names are resolved through the configured `resolver` (never the system's), and those
// with `resolve` again whenever their answer's TTL (or `valid=`) runs out, so an address that
// appears gets a Dialer and one that disappears is dropped. A name without `resolve` is resolved
// once, as nginx does when it reads its configuration (by the system when no resolver is set). An
// address that is this node's own listen address is never dialed. When the resolver fails, the
// known addresses stay and the node keeps serving on its own state while it asks again.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { ResolveError } from '../resolver.ts';
import type { ZoneSyncConf, ZoneSyncServer } from './conf.ts';
import { addressText, Dialer } from './dialer.ts';
import type { ZoneSyncNode } from './node.ts';

/** A failed resolution is asked again after its retry time, but at least this often. */
const MAX_RESOLVE_RETRY_MS = 5000;

/** Every address of this host's interfaces (a wildcard listen answers on all of them). */
function interfaceAddresses(): Set<string> {
  const all = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) all.add(i.address);
  return all;
}

export class Membership {
  /** Dialers by address text. */
  readonly dialers = new Map<string, Dialer>();
  /** Addresses found to be this node (not dialed). */
  readonly own = new Set<string>();
  private readonly node: ZoneSyncNode;
  private conf: ZoneSyncConf;
  /** The addresses each zone_sync_server line gives now. */
  private readonly found = new Map<ZoneSyncServer, { ip: string; port: number }[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(node: ZoneSyncNode, conf: ZoneSyncConf) {
    this.node = node;
    this.conf = conf;
  }

  start(): void {
    for (const server of this.conf.servers) {
      if (net.isIP(server.host) !== 0) this.set(server, [server.host]);
      else void this.resolve(server);
    }
  }

  /** A reload that kept the zone_sync directives: the new cycle's TLS context and resolver. */
  update(conf: ZoneSyncConf): void {
    this.conf = conf;
    for (const d of this.dialers.values()) d.update(conf);
  }

  stop(reason: string): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const d of this.dialers.values()) d.stop(reason);
    this.dialers.clear();
  }

  private async resolve(server: ZoneSyncServer): Promise<void> {
    if (this.stopped) return;
    const resolver = this.conf.resolver;
    try {
      if (resolver === null) {
        const answers = await lookup(server.host, { all: true });
        this.set(
          server,
          answers.map((a) => a.address),
        );
        return;
      }
      const { addresses, ttlMs } = await resolver.resolve(server.host);
      this.set(server, addresses);
      if (server.resolve) this.later(() => this.resolve(server), ttlMs);
    } catch (err) {
      if (this.stopped) return;
      const retry = Math.min(
        err instanceof ResolveError ? err.retryMs : MAX_RESOLVE_RETRY_MS,
        MAX_RESOLVE_RETRY_MS,
      );
      const why =
        err instanceof ResolveError
          ? err.message
          : `${server.host} could not be resolved (${(err as Error).message})`;
      const kept = this.found.get(server)?.length ?? 0;
      this.node.log(
        'error',
        `zone_sync: ${why} for "${server.text}", ${kept > 0 ? `keeping its ${kept} known address(es), ` : ''}retrying in ${Math.ceil(retry / 1000)}s`,
      );
      this.later(() => this.resolve(server), retry);
    }
  }

  private later(task: () => Promise<void>, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void task();
    }, ms);
    this.timers.add(t);
  }

  /** The addresses of one line changed: dial the new ones, drop the gone ones. */
  private set(server: ZoneSyncServer, ips: readonly string[]): void {
    if (this.stopped) return;
    const previous = this.found.get(server) ?? [];
    const next = [...new Set(ips)].map((ip) => ({ ip, port: server.port }));
    this.found.set(server, next);
    const text = (l: { ip: string; port: number }[]) => l.map((a) => a.ip).join(', ');
    if (text(previous) !== text(next) && net.isIP(server.host) === 0) {
      this.node.log('info', `zone_sync: "${server.text}" resolved to ${text(next) || 'nothing'}`);
    }
    const wanted = new Map<string, { ip: string; port: number; host: string }>();
    for (const [s, list] of this.found)
      for (const a of list) wanted.set(addressText(a.ip, a.port), { ...a, host: s.host });
    for (const [address, dialer] of this.dialers) {
      if (wanted.has(address)) continue;
      this.node.log('notice', `zone_sync: peer ${address} removed`);
      dialer.stop('peer removed from the cluster');
      this.dialers.delete(address);
    }
    for (const address of this.own) if (!wanted.has(address)) this.own.delete(address);
    for (const [address, a] of wanted) {
      if (this.dialers.has(address) || this.own.has(address)) continue;
      if (this.isOwnAddress(a.ip, a.port)) {
        this.own.add(address);
        this.node.log('info', `zone_sync: ${address} is this node, not connecting to it`);
        continue;
      }
      // The first answer names the cluster; later ones change it.
      const added = previous.length > 0;
      if (added) this.node.log('notice', `zone_sync: peer ${address} added`);
      const dialer = new Dialer(a.ip, a.port, a.host, this.node, this.conf);
      this.dialers.set(address, dialer);
      // A node that joins dials every member as it starts: a member that sees it in DNS first
      // waits a moment, so that the joiner's connection arrives and its own dial is skipped
      // (Dialer.connect) instead of racing it into a duplicate (docs/protocol.md §5.2).
      dialer.start(added ? this.conf.connectRetryMs * Math.random() * 0.5 : 0);
    }
  }

  /** This node's own zone_sync listen address (a wildcard listen: any of this host's addresses). */
  private isOwnAddress(ip: string, port: number): boolean {
    let interfaces: Set<string> | undefined;
    for (const l of this.conf.listens) {
      if (l.port !== port) continue;
      if (l.host === ip) return true;
      if (l.host === null || l.host === '0.0.0.0' || l.host === '::') {
        interfaces ??= interfaceAddresses();
        if (interfaces.has(ip)) return true;
      }
    }
    return false;
  }
}
