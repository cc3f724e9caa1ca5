// nginx's `resolver` as a client (src/core/ngx_resolver.c): names are asked of the configured
// servers only, never of the system resolver, through a node:dns Resolver (c-ares) with those
// servers set. Node keeps no answers, so the cache is ours: an answer is kept for `valid=` when
// set, else for its TTL, and concurrent asks for one name share one query. Failures are not
// kept (as in nginx): the caller logs ResolveError's text and asks again after `retryMs`.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Level } from '../core/error_log.ts';

export interface ResolverServer {
  readonly host: string;
  readonly port: number;
}

export interface ResolverOptions {
  /** `valid=`: how long every answer is kept, whatever its TTL (ms). */
  readonly valid?: number;
  /** Ask for A records (`ipv4=`, default on). */
  readonly ipv4: boolean;
  /** Ask for AAAA records too (`ipv6=`, default on). */
  readonly ipv6: boolean;
  /** `resolver_timeout`: how long one resolution may take (ms). */
  readonly timeout: number;
  /** Where the resolver logs its own errors (nginx's `... while resolving, resolver: ADDR`). */
  readonly log?: (level: Level, message: string) => void;
}

export interface Resolution {
  /** IPv4 addresses first, then IPv6, each in the order the server gave them. */
  readonly addresses: string[];
  /** How long the answer holds: `valid=`, else its smallest TTL; at least a second, as nginx counts. */
  readonly ttlMs: number;
}

/** nginx's NGX_RESOLVE_TIMEDOUT: what a resolution that got no answer ends with. */
export const RESOLVE_TIMEDOUT = 110;

/** ngx_resolver_strerror: DNS rcodes 1..5 and the timeout. */
const STATE_TEXT: Record<number, string> = {
  1: 'Format error',
  2: 'Server failure',
  3: 'Host not found',
  4: 'Unimplemented',
  5: 'Operation refused',
  [RESOLVE_TIMEDOUT]: 'Operation timed out',
};

/** c-ares error codes as the DNS rcode nginx reads from the answer (NODATA counts as not found). */
const STATE_OF_CODE: Record<string, number> = {
  EFORMERR: 1,
  ESERVFAIL: 2,
  ENOTFOUND: 3,
  ENODATA: 3,
  ENOTIMP: 4,
  EREFUSED: 5,
};

/** How long nginx lets a failed name rest before the caller asks again, without `valid=`. */
const DEFAULT_RETRY_MS = 10_000;
/** What an IP address "resolves" for without `valid=`: it never changes. */
const LITERAL_TTL_MS = 3_600_000;
/** nginx keeps answers to the second: a TTL of 0 still holds until the next second. */
const MIN_TTL_MS = 1000;
/** nginx resends an unanswered query every 5 seconds until resolver_timeout. */
const RESEND_MS = 5000;

/** A name that could not be resolved: `message` is nginx's log text for it. */
export class ResolveError extends Error {
  readonly hostname: string;
  /** nginx's ctx->state: a DNS rcode, or RESOLVE_TIMEDOUT. */
  readonly state: number;
  /** When to ask again (ms): `valid=`, else 10 seconds, as nginx's ctx->valid. */
  readonly retryMs: number;
  constructor(hostname: string, state: number, retryMs: number) {
    super(`${hostname} could not be resolved (${state}: ${STATE_TEXT[state] ?? 'Unknown error'})`);
    this.name = 'ResolveError';
    this.hostname = hostname;
    this.state = state;
    this.retryMs = retryMs;
  }
}

interface CachedAnswer {
  readonly addresses: string[];
  readonly ttlMs: number;
  readonly expires: number;
}

type Lookup = { ok: true; records: { address: string; ttl: number }[] } | { ok: false; code: string };

/** `127.0.0.1:49153`, `[::1]:53`: how c-ares and nginx's log name a server. */
function serverText(s: ResolverServer): string {
  return isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

export class NginxResolver {
  readonly servers: readonly ResolverServer[];
  private readonly options: ResolverOptions;
  private readonly client: Resolver;
  private readonly cache = new Map<string, CachedAnswer>();
  private readonly pending = new Map<string, Promise<Resolution>>();

  constructor(servers: readonly ResolverServer[], options: ResolverOptions) {
    this.servers = servers;
    this.options = options;
    const tries = Math.max(1, Math.ceil(options.timeout / RESEND_MS));
    this.client = new Resolver({ timeout: Math.min(options.timeout, RESEND_MS), tries });
    this.client.setServers(servers.map(serverText));
  }

  /** The addresses of `name`, from the cache while its answer holds; throws ResolveError. */
  resolve(hostname: string): Promise<Resolution> {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (isIP(name) !== 0) {
      return Promise.resolve({ addresses: [name], ttlMs: this.options.valid ?? LITERAL_TTL_MS });
    }
    const cached = this.cache.get(name);
    if (cached !== undefined && cached.expires > performance.now()) {
      return Promise.resolve({ addresses: [...cached.addresses], ttlMs: cached.expires - performance.now() });
    }
    let query = this.pending.get(name);
    if (query === undefined) {
      query = this.query(name).finally(() => this.pending.delete(name));
      this.pending.set(name, query);
    }
    return query;
  }

  private async query(name: string): Promise<Resolution> {
    const { ipv4, ipv6, timeout } = this.options;
    const asked = [ipv4 ? this.lookup(name, 4) : null, ipv6 ? this.lookup(name, 6) : null];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeout);
    });
    const answers = await Promise.race([Promise.all(asked), deadline]);
    clearTimeout(timer);
    if (answers === 'timeout') throw this.failure(name, RESOLVE_TIMEDOUT);
    const records = answers.flatMap((a) => (a?.ok ? a.records : []));
    const failed = answers.filter((a): a is Extract<Lookup, { ok: false }> => a !== null && !a.ok);
    if (failed.some((f) => f.code === 'ECONNREFUSED')) {
      const servers = this.servers.map(serverText).join(', ');
      this.options.log?.(
        'error',
        `recv() failed (111: Connection refused) while resolving, resolver: ${servers}`,
      );
    }
    if (records.length === 0) {
      // A NODATA answer for one family says nothing when the other has a real error.
      const failure = failed.find((f) => f.code !== 'ENODATA') ?? failed[0];
      throw this.failure(name, STATE_OF_CODE[failure?.code ?? 'ENODATA'] ?? RESOLVE_TIMEDOUT);
    }
    const ttlMs = this.options.valid ?? Math.max(MIN_TTL_MS, Math.min(...records.map((r) => r.ttl)) * 1000);
    const addresses = records.map((r) => r.address);
    this.cache.set(name, { addresses, ttlMs, expires: performance.now() + ttlMs });
    return { addresses: [...addresses], ttlMs };
  }

  private async lookup(name: string, family: 4 | 6): Promise<Lookup> {
    try {
      const records =
        family === 4
          ? await this.client.resolve4(name, { ttl: true })
          : await this.client.resolve6(name, { ttl: true });
      return { ok: true, records };
    } catch (err) {
      return { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN' };
    }
  }

  private failure(name: string, state: number): ResolveError {
    return new ResolveError(name, state, this.options.valid ?? DEFAULT_RETRY_MS);
  }
}
