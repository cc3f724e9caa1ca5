// ngx_http_core_module's directives: servers, listeners, locations, limits, error pages.
// The runtime that uses them lives in ../build.ts (servers, locations) and ../request.ts (phases).
import type { ConfEntry, Context, DirectiveSpec } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import {
  flagDirective,
  ignoredDirective,
  numberDirective,
  offsetDirective,
  parseAddress,
  parseSize,
  parseTime,
  sizeDirective,
  timeDirective,
} from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { parseLocationArgs } from '../location_tree.ts';
import { parseServerNames } from '../server_names.ts';

const H: Context[] = ['http'];
const HS: Context[] = ['http', 'server'];
const HSL: Context[] = ['http', 'server', 'location'];
const HSLI: Context[] = ['http', 'server', 'location', 'if_location'];

export interface ListenOptions {
  readonly host: string | null;
  readonly port: number;
  readonly defaultServer: boolean;
  readonly ssl: boolean;
  readonly entry: ConfEntry;
}

const LISTEN_FLAGS = new Set([
  'default_server',
  'default',
  'ssl',
  'http2',
  'proxy_protocol',
  'reuseport',
  'bind',
  'deferred',
]);
const LISTEN_PARAMS = /^(backlog|rcvbuf|sndbuf|accept_filter|fastopen|ipv6only|so_keepalive|setfib)=/;

function parseListen(e: ConfEntry): ListenOptions {
  const addr = parseAddress(e.args[0], 'listen');
  if (addr.unix !== undefined) invalid(`unix: listeners are not supported in "listen" directive`, e);
  let defaultServer = false;
  let ssl = false;
  for (const p of e.args.slice(1)) {
    if (p === 'default_server' || p === 'default') defaultServer = true;
    else if (p === 'ssl') ssl = true;
    else if (!LISTEN_FLAGS.has(p) && !LISTEN_PARAMS.test(p)) invalid(`invalid parameter "${p}"`, e);
  }
  return { host: addr.host, port: addr.port, defaultServer, ssl, entry: e };
}

/** `keepalive_timeout timeout [header_timeout]`: the second value feeds `Keep-Alive: timeout=N`. */
function parseKeepaliveTimeout(e: ConfEntry): { timeout: number; header: number | null } {
  return {
    timeout: parseTime(e.args[0], e.name),
    header: e.args[1] === undefined ? null : parseTime(e.args[1], e.name),
  };
}

function parseLargeBuffers(e: ConfEntry): { number: number; size: number } {
  const n = Number(e.args[0]);
  if (!Number.isInteger(n) || n <= 0) invalid(`invalid value "${e.args[0]}"`, e);
  return { number: n, size: parseSize(e.args[1], e.name) };
}

/** `error_page code ... [=[response]] uri`. */
export interface ErrorPage {
  readonly codes: number[];
  /** Override status (`=404`), `0` for `=` (take the redirect target's status), null to keep it. */
  readonly override: number | null;
  readonly uri: string;
}

function parseErrorPage(e: ConfEntry): ErrorPage {
  const args = e.args;
  const uri = args[args.length - 1];
  let override: number | null = null;
  let last = args.length - 1;
  const eq = args[last - 1];
  if (eq?.startsWith('=')) {
    last--;
    if (eq === '=') override = 0;
    else {
      override = Number(eq.slice(1));
      if (!Number.isInteger(override) || override <= 0) invalid(`invalid value "${eq}"`, e);
    }
  }
  const codes: number[] = [];
  for (const c of args.slice(0, last)) {
    const n = Number(c);
    if (!/^\d+$/.test(c)) invalid(`invalid value "${c}"`, e);
    if (n < 300 || n > 599) invalid(`value "${c}" must be between 300 and 599`, e);
    codes.push(n);
  }
  if (codes.length === 0) invalid(`invalid number of arguments in "error_page" directive`, e);
  return { codes, override, uri };
}

function spec(
  name: string,
  contexts: Context[],
  args: DirectiveSpec['args'],
  parse?: DirectiveSpec['parse'],
  extra: Partial<DirectiveSpec> = {},
): DirectiveSpec {
  return { name, contexts, args, parse, ...extra };
}

/** Directives accepted for compatibility that change nothing here (see docs/configuration.md). */
const IGNORED_HTTP: [string, Context[], DirectiveSpec['args']][] = [
  ['client_body_buffer_size', HSL, [1]],
  ['client_body_temp_path', HSL, [1, 2, 3, 4]],
  ['client_body_in_file_only', HSL, [1]],
  ['connection_pool_size', HS, [1]],
  ['request_pool_size', HS, [1]],
  ['server_names_hash_bucket_size', H, [1]],
  ['server_names_hash_max_size', H, [1]],
  ['variables_hash_bucket_size', H, [1]],
  ['variables_hash_max_size', H, [1]],
  ['types_hash_bucket_size', HSL, [1]],
  ['types_hash_max_size', HSL, [1]],
  ['send_lowat', HSL, [1]],
  ['postpone_output', HSL, [1]],
  ['reset_timedout_connection', HSL, 'flag'],
  ['lingering_close', HSL, [1]],
  ['lingering_time', HSL, [1]],
  ['keepalive_disable', HSL, '1+'],
  ['chunked_transfer_encoding', HSL, 'flag'],
  ['msie_refresh', HSL, 'flag'],
  ['log_subrequest', HSL, 'flag'],
  ['recursive_error_pages', HSL, 'flag'],
  ['send_timeout', HSL, [1]],
  ['limit_rate', ['http', 'server', 'location', 'if_location'], [1]],
  ['limit_rate_after', ['http', 'server', 'location', 'if_location'], [1]],
  ['satisfy', HSL, [1]],
  ['gzip', HSLI, 'flag'],
  ['gzip_vary', HSL, 'flag'],
  ['gzip_proxied', HSL, '1+'],
  ['gzip_comp_level', HSL, [1]],
  ['gzip_buffers', HSL, [2]],
  ['gzip_http_version', HSL, [1]],
  ['gzip_types', HSL, '1+'],
  ['gzip_min_length', HSL, [1]],
  ['gzip_disable', HSL, '1+'],
  ['charset', HSLI, [1]],
  ['source_charset', HSLI, [1]],
  ['charset_types', HSL, '1+'],
  ['server_name_in_redirect', HSL, 'flag'],
];

export const httpCoreModule: Module = {
  name: 'http_core',
  directives: [
    spec('server', H, [0], undefined, { block: 'server', multiple: true }),
    spec('location', ['server', 'location'], [1, 2], parseLocationArgs, {
      block: 'location',
      multiple: true,
    }),
    spec('listen', ['server'], '1+', parseListen, { multiple: true }),
    spec('server_name', ['server'], '1+', parseServerNames, { multiple: true }),
    spec('error_page', HSLI, '2+', parseErrorPage, { multiple: true }),
    spec('keepalive_timeout', HSL, [1, 2], parseKeepaliveTimeout),
    spec('large_client_header_buffers', HS, [2], parseLargeBuffers),
    spec('server_tokens', HSL, [1], (e) => {
      if (!['on', 'off', 'build'].includes(e.args[0]))
        invalid(
          `invalid value "${e.args[0]}" in "server_tokens" directive, it must be "on", "off" or "build"`,
          e,
        );
      return e.args[0] !== 'off';
    }),
    offsetDirective('client_max_body_size', HSL),
    sizeDirective('client_header_buffer_size', HS),
    timeDirective('client_header_timeout', HS),
    timeDirective('client_body_timeout', HSL),
    timeDirective('lingering_timeout', HSL),
    numberDirective('keepalive_requests', HSL),
    flagDirective('absolute_redirect', HSL),
    flagDirective('port_in_redirect', HSL),
    flagDirective('merge_slashes', HS),
    flagDirective('ignore_invalid_headers', HS),
    flagDirective('underscores_in_headers', HS),
    flagDirective('msie_padding', HSL),
    ...IGNORED_HTTP.map(([name, contexts, args]) => ignoredDirective(name, contexts, args)),
  ],
};

export const IGNORED_HTTP_DIRECTIVES = IGNORED_HTTP.map(([name]) => name);
