// ngx_http_ssl_module's directives. Each server's TLS context is built with the cycle (so a reload
// re-reads certificates and keys); the listeners (../tls/accept.ts) use it per connection.
// Accepted without effect: ssl_buffer_size (Node sizes its TLS records itself), ssl_session_cache
// (Node's TLS keeps no server-side session-ID cache: sessions resume through tickets, which
// ssl_session_tickets turns off), ssl_stapling* (no OCSP stapling here: a warning when on) and
// ssl_early_data (0-RTT is never accepted: a warning when on).
import { readFileSync } from 'node:fs';
import { inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context, DirectiveSpec } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import {
  enumDirective,
  flagDirective,
  ignoredDirective,
  ngxAtoi,
  ngxSize,
  numberDirective,
  parseSeconds,
  sizeDirective,
} from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { buildSecureContext, osErrorText, type SslSettings, type VerifyClient } from '../tls/context.ts';
import { SSL_CONF_KEY, type SslServerConf } from '../tls/server_ssl.ts';
import type { BuildContext, ServerConf } from '../types.ts';
import { sslVariables } from './ssl_variables.ts';

const HS: Context[] = ['http', 'server'];

const PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const DEFAULT_PROTOCOLS: ReadonlySet<string> = new Set(['TLSv1.2', 'TLSv1.3']);
const DEFAULT_CIPHERS = 'HIGH:!aNULL:!MD5';

/** A file path, relative to the configuration's directory as nginx's ngx_conf_full_name(..., 1). */
function pathDirective(name: string, contexts: readonly Context[], multiple = false): DirectiveSpec {
  return { name, contexts, args: [1], multiple, parse: (e, cx) => cx.resolveConfPath(e.args[0]) };
}

function readConfFile(e: ConfEntry, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    return invalid(`open() "${path}" failed (${osErrorText(err as NodeJS.ErrnoException)})`, e);
  }
}

/** ngx_conf_set_bitmask_slot over nginx's protocol names (any case). */
function parseProtocols(e: ConfEntry): Set<string> {
  const set = new Set<string>();
  for (const a of e.args) {
    const p = PROTOCOLS.find((x) => x.toLowerCase() === a.toLowerCase());
    if (p === undefined) invalid(`invalid value "${a}"`, e);
    set.add(p);
  }
  return set;
}

/** ngx_ssl_read_password_file: one password a line (a CR before the LF dropped); none is one empty password. */
function parsePasswordFile(e: ConfEntry, cx: { resolveConfPath(p: string): string }): string[] {
  const text = readConfFile(e, cx.resolveConfPath(e.args[0])).toString('latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const passwords = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return passwords.length > 0 ? passwords : [''];
}

/** ngx_http_ssl_session_cache's syntax: off, none, builtin[:size], shared:name:size. */
function parseSessionCache(e: ConfEntry): true {
  for (const v of e.args) {
    if (v === 'off' || v === 'none' || v === 'builtin') continue;
    if (v.startsWith('builtin:') && v.length > 8 && ngxAtoi(v.slice(8)) !== null) continue;
    const m = /^shared:([^:]+):(.*)$/.exec(v);
    const size = m ? ngxSize(m[2]) : null;
    if (size === null) invalid(`invalid session cache "${v}"`, e);
    // 8 pages of 4096 bytes, nginx's smallest zone
    if (size < 8 * 4096) invalid(`session cache "${v}" is too small`, e);
  }
  return true;
}

/** A 48-byte key is used (Node's ticket format); nginx's 80-byte keys are accepted but not used. */
function parseTicketKey(e: ConfEntry, cx: { resolveConfPath(p: string): string }): Buffer {
  const path = cx.resolveConfPath(e.args[0]);
  const key = readConfFile(e, path);
  if (key.length !== 48 && key.length !== 80) invalid(`"${path}" must be 48 or 80 bytes`, e);
  return key;
}

/**
 * The ssl_* server directives that nginx's http and stream ssl modules share, for `contexts`
 * (http/server here, stream/server in ../../stream/ssl_module.ts).
 */
export function sslServerDirectives(contexts: readonly Context[]): DirectiveSpec[] {
  return [
    pathDirective('ssl_certificate', contexts, true),
    pathDirective('ssl_certificate_key', contexts, true),
    { name: 'ssl_password_file', contexts, args: [1], parse: parsePasswordFile },
    pathDirective('ssl_dhparam', contexts),
    { name: 'ssl_ecdh_curve', contexts, args: [1] },
    { name: 'ssl_protocols', contexts, args: '1+', parse: parseProtocols },
    { name: 'ssl_ciphers', contexts, args: [1] },
    flagDirective('ssl_prefer_server_ciphers', contexts),
    enumDirective('ssl_verify_client', contexts, ['off', 'on', 'optional', 'optional_no_ca']),
    numberDirective('ssl_verify_depth', contexts),
    pathDirective('ssl_client_certificate', contexts),
    pathDirective('ssl_trusted_certificate', contexts),
    pathDirective('ssl_crl', contexts),
    { name: 'ssl_session_timeout', contexts, args: [1], parse: (e) => parseSeconds(e.args[0], e.name) },
    { name: 'ssl_session_cache', contexts, args: [1, 2], parse: parseSessionCache },
    flagDirective('ssl_session_tickets', contexts),
    { name: 'ssl_session_ticket_key', contexts, args: [1], multiple: true, parse: parseTicketKey },
    flagDirective('ssl_reject_handshake', contexts),
    flagDirective('ssl_stapling', contexts),
    flagDirective('ssl_stapling_verify', contexts),
    ignoredDirective('ssl_stapling_file', contexts, [1]),
    ignoredDirective('ssl_stapling_responder', contexts, [1]),
  ];
}

const directives: DirectiveSpec[] = [
  ...sslServerDirectives(HS),
  flagDirective('ssl_early_data', HS),
  sizeDirective('ssl_buffer_size', HS),
];

/** A server's ssl_* settings after inheritance (the same for http and stream servers). */
export function sslSettingsOf(block: ConfBlock): SslSettings {
  const value = <T>(name: string, fallback: T): T => inheritedValue(block, name, fallback);
  const ticketKey = inherited(block, 'ssl_session_ticket_key')[0]?.value as Buffer | undefined;
  return {
    certificates: inherited(block, 'ssl_certificate').map((e) => e.value as string),
    keys: inherited(block, 'ssl_certificate_key').map((e) => e.value as string),
    passwords: value<string[] | null>('ssl_password_file', null),
    protocols: value('ssl_protocols', DEFAULT_PROTOCOLS),
    ciphers: inherited(block, 'ssl_ciphers')[0]?.args[0] ?? DEFAULT_CIPHERS,
    preferServerCiphers: value('ssl_prefer_server_ciphers', false),
    verify: value<VerifyClient>('ssl_verify_client', 'off'),
    verifyDepth: value('ssl_verify_depth', 1),
    clientCertificate: value('ssl_client_certificate', ''),
    trustedCertificate: value('ssl_trusted_certificate', ''),
    crl: value('ssl_crl', ''),
    dhparam: value('ssl_dhparam', ''),
    ecdhCurve: inherited(block, 'ssl_ecdh_curve')[0]?.args[0] ?? 'auto',
    sessionTimeout: value('ssl_session_timeout', 300),
    sessionTickets: value('ssl_session_tickets', true),
    ticketKey: ticketKey?.length === 48 ? ticketKey : null,
  };
}

function server(srv: ServerConf, cx: BuildContext): undefined {
  const settings = sslSettingsOf(srv.block);
  const conf: SslServerConf = {
    context: buildSecureContext(settings),
    verify: settings.verify,
    verifyDepth: settings.verifyDepth,
    rejectHandshake: inheritedValue(srv.block, 'ssl_reject_handshake', false),
  };
  if (conf.context !== null) {
    // nginx's own words where its build lacks these features.
    if (inheritedValue(srv.block, 'ssl_early_data', false)) {
      cx.log.log('warn', '"ssl_early_data" is not supported on this platform, ignored');
    }
    if (inheritedValue(srv.block, 'ssl_stapling', false))
      cx.log.log('warn', '"ssl_stapling" ignored, not supported');
  }
  srv.conf.set(SSL_CONF_KEY, conf);
  return undefined;
}

export const sslModule: Module = {
  name: 'http_ssl',
  directives,
  variables: sslVariables,
  http: { server },
};
