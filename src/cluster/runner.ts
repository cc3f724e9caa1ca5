// `zonesync cluster`: N instances of one configuration on 127.0.0.1 ... 127.0.0.N, the DNS responder
// that tells them of each other, and the control socket the other `cluster` commands talk to.
// Membership is DNS alone: a node joins by being added to the answers before it starts, and leaves
// by being removed from them, then (once the resolvers' cache has run out) stopped with QUIT.
import net from 'node:net';
import path from 'node:path';
import { errorText } from '../cli/args.ts';
import { type ClusterConfig, scanConfig, syncChanges } from './config_scan.ts';
import { type ControlRequest, controlPath, type Reply, serveControl } from './control.ts';
import { type DnsResponder, startDnsResponder } from './dns_responder.ts';
import { ClusterNode, prepareNodePrefix } from './node.ts';
import { statusLines } from './status.ts';
import { walkthrough } from './walkthrough.ts';

/** NGINXaaS's resolver address, used when the configuration resolves no name. */
const DEFAULT_DNS = { host: '127.0.0.1', port: 49153 };
/** TTL of the responder's answers, in seconds; a `resolver valid=` overrides it on the nodes. */
const DNS_TTL = 5;

/** Time a restarted node gets to receive its peers' snapshots before the next one stops. */
const ROLLING_PAUSE_MS = 1000;

export interface RunnerOptions {
  /** The cluster prefix, absolute; nodes live in PREFIX/nodes/N/. */
  readonly prefix: string;
  /** The configuration file, absolute. */
  readonly confFile: string;
  readonly nodes: number;
  /** Node 1's address; node N's is this one plus N - 1 (default 127.0.0.1). */
  readonly firstAddress?: string;
  /** Where the runner reports (default: standard output). */
  readonly say?: (line: string) => void;
}

/** `first` plus `offset` as an IPv4 address. */
export function nthAddress(first: string, offset: number): string {
  if (!net.isIPv4(first)) throw new Error(`"${first}" is not an IPv4 address`);
  const n = first.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) + offset;
  if (n > 0xffffffff) throw new Error(`no address ${offset} after ${first}`);
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export class ClusterRunner {
  private readonly options: RunnerOptions;
  private readonly say: (line: string) => void;
  private readonly nodes = new Map<number, ClusterNode>();
  /** Nodes the DNS answers list. */
  private readonly members = new Set<number>();
  private confFile: string;
  private config: ClusterConfig;
  private dns: DnsResponder | null = null;
  private control: net.Server | null = null;
  /** Control commands run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  private readonly stoppedSignal = Promise.withResolvers<void>();
  /** Resolves once the runner stopped, whoever asked (a signal, `cluster stop`). */
  readonly stopped = this.stoppedSignal.promise;

  /** Reads the configuration (throws its ConfigError); start() runs it. */
  constructor(options: RunnerOptions) {
    this.options = options;
    this.say = options.say ?? ((line) => process.stdout.write(`${line}\n`));
    this.confFile = options.confFile;
    this.config = scanConfig(options.confFile, options.prefix);
  }

  /** Start the control socket, the responder and the nodes; on a failure, stop what started. */
  async start(): Promise<void> {
    try {
      // Commands that arrive meanwhile wait for the nodes to be up.
      const booted = this.boot();
      this.queue = booted.catch(() => {});
      await booted;
    } catch (e) {
      // A stop asked for meanwhile is no failure.
      const asked = this.stopping !== null;
      await this.stop('SIGTERM');
      if (!asked) throw e;
    }
  }

  private async boot(): Promise<void> {
    const { host, port } = this.config.resolver ?? DEFAULT_DNS;
    this.control = await serveControl(controlPath(this.options.prefix), (req, reply) =>
      this.command(req, reply),
    );
    try {
      this.dns = await startDnsResponder({ host, port, ttl: DNS_TTL });
    } catch (e) {
      throw new Error(`the DNS responder cannot listen on ${host}:${port} (${(e as Error).message})`);
    }
    const indexes = Array.from({ length: this.options.nodes }, (_, i) => i + 1);
    const failures = await this.test(
      this.confFile,
      indexes.map((i) => this.node(i)),
    );
    if (failures.length > 0) throw new Error(failures.join('\n'));
    // Stopped meanwhile (a signal): start nothing. Past this point stop() finds every node.
    if (this.stopping !== null) throw new Error('stopped while starting');
    for (const i of indexes) this.members.add(i);
    this.publish();
    await Promise.all(indexes.map((i) => this.node(i).start()));
    this.banner();
  }

  private address(index: number): string {
    return nthAddress(this.options.firstAddress ?? '127.0.0.1', index - 1);
  }

  /** Node `index`, made (with its prefix) on first use. */
  private node(index: number): ClusterNode {
    let node = this.nodes.get(index);
    if (node === undefined) {
      const prefix = path.join(this.options.prefix, 'nodes', String(index)) + path.sep;
      prepareNodePrefix(this.options.prefix, prefix);
      node = new ClusterNode({
        index,
        address: this.address(index),
        prefix,
        config: () => ({ confFile: this.confFile, pidPath: this.config.pidPath(prefix) }),
        say: this.say,
      });
      this.nodes.set(index, node);
    }
    return node;
  }

  /** The addresses DNS answers with now. */
  private memberAddresses(): string[] {
    return [...this.members].sort((a, b) => a - b).map((i) => this.address(i));
  }

  /** Answer every name the configuration resolves with the members' addresses. */
  private publish(previous: readonly string[] = []): void {
    for (const name of previous) if (!this.config.names.includes(name)) this.dns?.deleteRecords(name);
    for (const name of this.config.names) this.dns?.setRecords(name, this.memberAddresses());
  }

  /** `zonesync -t` of `confFile` for each of `nodes`: the errors, by node. */
  private async test(confFile: string, nodes: readonly ClusterNode[]): Promise<string[]> {
    const results = await Promise.all(nodes.map((n) => n.test(confFile)));
    return results.flatMap((r, i) => (r === null ? [] : [`${nodes[i].label}:\n${r}`]));
  }

  private banner(): void {
    const rel = (p: string) => {
      const r = path.relative(process.cwd(), p) || '.';
      return r.startsWith('..') ? p : r;
    };
    const addresses = this.memberAddresses();
    const prefix = rel(this.options.prefix);
    const lines = [`zonesync cluster: ${this.nodes.size} nodes of ${rel(this.confFile)}`];
    for (const node of this.nodes.values())
      lines.push(`  ${node.label}  pid ${node.pid}  prefix ${rel(node.prefix)}`);
    for (const name of this.config.names)
      lines.push(`  DNS ${this.dns?.address}: ${name} → ${addresses.join(' ')}`);
    lines.push(`  control: zonesync cluster status|scale N|reload [-c FILE]|stop -p ${prefix}`);
    this.say([...lines, ...walkthrough(this.config, addresses)].join('\n'));
  }

  private command(req: ControlRequest, reply: Reply): Promise<number> {
    const run = async (): Promise<number> => {
      if (this.stopping !== null) {
        reply.err('the cluster is stopping');
        return 1;
      }
      if (req.cmd === 'scale') return this.scale(req.nodes, reply);
      if (req.cmd === 'reload') return this.reload(req.conf ?? this.confFile, reply);
      if (req.cmd === 'status') {
        const lines = await statusLines(this.config, [...this.nodes.values()], this.memberAddresses());
        for (const line of lines) reply.out(line);
        return 0;
      }
      if (req.cmd === 'stop') {
        reply.out('stopping');
        setImmediate(() => void this.stop('SIGTERM'));
        return 0;
      }
      reply.err(`unknown command ${JSON.stringify((req as { cmd: unknown }).cmd)}`);
      return 1;
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Both to the client and to the runner's own output. */
  private tell(reply: Reply, line: string): void {
    reply.out(line);
    this.say(line);
  }

  async scale(count: number, reply: Reply): Promise<number> {
    if (!Number.isInteger(count) || count < 1) {
      reply.err(`invalid number of nodes "${count}"`);
      return 1;
    }
    const current = this.nodes.size;
    if (count > current) {
      const added = Array.from({ length: count - current }, (_, i) => this.node(current + i + 1));
      const failures = await this.test(this.confFile, added);
      if (failures.length > 0) {
        for (const n of added) this.nodes.delete(n.index);
        for (const f of failures) reply.err(f);
        return 1;
      }
      for (const n of added) this.members.add(n.index);
      this.publish();
      this.tell(reply, `DNS now answers ${this.memberAddresses().join(' ')}`);
      await Promise.all(
        added.map(async (n) => {
          await n.start();
          this.tell(reply, `${n.label} started, pid ${n.pid}`);
        }),
      );
    } else if (count < current) {
      const removed = [...this.nodes.values()].filter((n) => n.index > count);
      for (const n of removed) this.members.delete(n.index);
      this.publish();
      // The peers forget a removed node when their cached answer expires; it leaves after that.
      const drainMs = this.config.resolver?.validMs ?? DNS_TTL * 1000;
      this.tell(
        reply,
        `DNS now answers ${this.memberAddresses().join(' ')}; stopping ${removed.map((n) => n.label).join(', ')} in ${drainMs / 1000}s`,
      );
      await new Promise((r) => setTimeout(r, drainMs));
      await Promise.all(
        removed.map(async (n) => {
          await n.stop('SIGQUIT');
          this.nodes.delete(n.index);
          this.tell(reply, `${n.label} stopped`);
        }),
      );
    }
    this.tell(reply, `the cluster has ${this.nodes.size} nodes`);
    return 0;
  }

  /** Check `confFile` for every node and against the running zones; only then HUP every node. */
  async reload(confFile: string, reply: Reply): Promise<number> {
    let next: ClusterConfig;
    try {
      next = scanConfig(confFile, this.options.prefix);
    } catch (e) {
      reply.err(errorText(e));
      reply.err('nothing was reloaded');
      return 1;
    }
    const refusals = syncChanges(this.config.zones, next.zones);
    const failures = refusals.length > 0 ? [] : await this.test(confFile, [...this.nodes.values()]);
    if (refusals.length > 0 || failures.length > 0) {
      for (const line of [...refusals, ...failures]) reply.err(line);
      reply.err('nothing was reloaded');
      return 1;
    }
    const previous = this.config.names;
    const sameFile = path.resolve(confFile) === path.resolve(this.confFile);
    this.confFile = confFile;
    this.config = next;
    this.publish(previous);
    if (sameFile) {
      for (const n of this.nodes.values()) n.reload();
      this.tell(reply, `reloaded ${this.nodes.size} nodes with ${confFile}`);
      return 0;
    }
    // A node reads its -c file at start only, so another file means a rolling restart: one node
    // at a time, each catching up from the others through zone_sync before the next goes.
    for (const n of this.nodes.values()) {
      await n.stop('SIGQUIT');
      await n.start();
      await new Promise((resolve) => setTimeout(resolve, ROLLING_PAUSE_MS));
    }
    this.tell(reply, `restarted ${this.nodes.size} nodes one by one with ${confFile}`);
    return 0;
  }

  /** Stop every node with `signal`, then the responder and the control socket. */
  stop(signal: 'SIGQUIT' | 'SIGTERM'): Promise<void> {
    this.stopping ??= (async () => {
      this.control?.close();
      await Promise.all([...this.nodes.values()].map((n) => n.stop(signal)));
      await this.dns?.close();
      this.stoppedSignal.resolve();
    })();
    return this.stopping;
  }
}
