// ngx_stream_core_module's directives that matter here: `server`, `listen`, `resolver` and
// `resolver_timeout`. The runtime that uses them is ./build.ts (servers, listen groups) and
// ./listeners.ts (sockets). No preread or proxy_protocol: no module here reads before its handler.
import { isIP } from 'node:net';
import type { ConfEntry, Context } from '../config/types.ts';
import { ConfigError, invalid } from '../config/types.ts';
import { ngxAtoi, ngxSize, ngxTime, parseAddress, timeDirective } from '../config/values.ts';
import type { Module } from '../core/module.ts';
import type { ResolverServer } from './resolver.ts';
import type { StreamListen } from './types.ts';

const SS: Context[] = ['stream', 'stream_server'];

/** ngx_stream_core_listen's flags and `name=value` parameters, accepted as nginx accepts them. */
const LISTEN_FLAGS = new Set(['default_server', 'ssl', 'bind', 'deferred', 'reuseport', 'proxy_protocol']);
const LISTEN_PARAMS = /^(ipv6only=o(n|ff)|so_keepalive=.+|setfib=.+|accept_filter=.+)$/;

/** `backlog=`, `rcvbuf=`, `sndbuf=`, `fastopen=` with nginx's checks of their values. */
function checkListenValue(p: string, e: ConfEntry): boolean {
  const m = /^(backlog|rcvbuf|sndbuf|fastopen)=(.*)$/.exec(p);
  if (m === null) return false;
  const value = m[1] === 'rcvbuf' || m[1] === 'sndbuf' ? ngxSize(m[2]) : ngxAtoi(m[2]);
  if (value === null || (m[1] === 'backlog' && value === 0)) invalid(`invalid ${m[1]} "${p}"`, e);
  return true;
}

function parseListen(e: ConfEntry): Omit<StreamListen, 'entry'> {
  const addr = parseAddress(e.args[0], 'listen', 0);
  if (addr.unix !== undefined) invalid('unix: listeners are not supported in "listen" directive', e);
  if (addr.port === 0) invalid(`no port in "${e.args[0]}" of the "listen" directive`, e);
  let ssl = false;
  let defaultServer = false;
  for (const p of e.args.slice(1)) {
    if (p === 'ssl') ssl = true;
    else if (p === 'default_server') defaultServer = true;
    else if (p === 'udp') invalid('udp listeners are not supported in "listen" directive', e);
    else if (!LISTEN_FLAGS.has(p) && !LISTEN_PARAMS.test(p) && !checkListenValue(p, e))
      invalid(`invalid parameter "${p}"`, e);
  }
  return { host: addr.host, port: addr.port, ssl, defaultServer };
}

/** The parsed `resolver` directive. */
export interface ResolverConf {
  readonly servers: ResolverServer[];
  /** `valid=`, in milliseconds. */
  readonly valid?: number;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** NGINX Plus's `status_zone=`: accepted, for the API. */
  readonly statusZone?: string;
}

/**
 * One resolver address, as ngx_parse_url with port 53 by default. Host names are resolved when
 * nginx reads its configuration; here only `localhost` is, other names are refused.
 */
function resolverServer(text: string, e: ConfEntry): ResolverServer {
  const fail = (why: string): never => invalid(`${why} in resolver "${text}"`, e);
  const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text) ?? /^([^:]*)(?::(.*))?$/.exec(text);
  if (m === null) return fail('invalid host');
  const port = m[2] === undefined ? 53 : ngxAtoi(m[2]);
  if (port === null || port < 1 || port > 65535) return fail('invalid port');
  const host = m[1] === 'localhost' ? '127.0.0.1' : m[1];
  if (host === '') return fail('no host');
  if (isIP(host) === 0) return fail('host not found');
  return { host, port };
}

/** ngx_resolver_create's parameters: servers, `valid=`, `ipv4=`, `ipv6=`, and Plus's `status_zone=`. */
function parseResolver(e: ConfEntry): ResolverConf {
  const servers: ResolverServer[] = [];
  let valid: number | undefined;
  let statusZone: string | undefined;
  const family = { ipv4: true, ipv6: true };
  for (const arg of e.args) {
    const bad = (): never => invalid(`invalid parameter: ${arg}`, e);
    if (arg.startsWith('valid=')) {
      const seconds = ngxTime(arg.slice(6), true);
      valid = seconds === null ? bad() : seconds * 1000;
    } else if (arg.startsWith('ipv4=') || arg.startsWith('ipv6=')) {
      const value = arg.slice(5);
      if (value !== 'on' && value !== 'off') bad();
      family[arg.slice(0, 4) as 'ipv4' | 'ipv6'] = value === 'on';
    } else if (arg.startsWith('status_zone=')) {
      statusZone = arg.slice(12) || bad();
    } else {
      servers.push(resolverServer(arg, e));
    }
  }
  if (!family.ipv4 && !family.ipv6) invalid('"ipv4" and "ipv6" cannot both be "off"', e);
  if (servers.length === 0) invalid('no name servers defined', e);
  return { servers, valid, ...family, statusZone };
}

/** ngx_stream_core_server: a server must listen somewhere (checked at its closing brace). */
function checkServer(e: ConfEntry): undefined {
  if (!e.block?.entries.some((x) => x.name === 'listen')) {
    // nginx names the server's own place inside its message, not the directive's.
    throw new ConfigError('no "listen" is defined for server', e.file, e.line);
  }
  return undefined;
}

export const streamCoreModule: Module = {
  name: 'stream_core',
  directives: [
    {
      name: 'server',
      contexts: ['stream'],
      args: [0],
      block: 'stream_server',
      multiple: true,
      parse: checkServer,
    },
    {
      name: 'listen',
      contexts: ['stream_server'],
      args: '1+',
      multiple: true,
      parse: (e): StreamListen => ({ ...parseListen(e), entry: e }),
    },
    { name: 'resolver', contexts: SS, args: '1+', parse: parseResolver },
    timeDirective('resolver_timeout', SS),
  ],
};
