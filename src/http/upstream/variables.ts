// ngx_http_upstream_module's per-request record of every attempt, and the $upstream_* variables
// built from it: one entry per peer tried, joined with ", " (nginx's u->state array).

import type { VariableDef } from '../../variables/types.ts';
import type { HttpRequest } from '../types.ts';

/** One attempt on one peer. Times are ms (performance.now()); -1 when the step was not reached. */
export interface AttemptRecord {
  addr: string;
  /** 0 until a status is known. */
  status: number;
  start: number;
  connectTime: number;
  headerTime: number;
  responseTime: number;
  /** Body bytes received; -1 when none were read. */
  length: number;
}

/** What the upstream module keeps per request (r.upstreamState): its attempts and the last head. */
export class UpstreamState {
  readonly attempts: AttemptRecord[] = [];
  head: UpstreamHeadFields | null = null;
}

function stateOf(r: HttpRequest): UpstreamState {
  return (r.upstreamState ??= new UpstreamState());
}

/** The attempts of `r` (created on first use by the proxy). */
export function attemptsOf(r: HttpRequest): AttemptRecord[] {
  return stateOf(r).attempts;
}

/** A new attempt on `addr`, started now. */
export function beginAttempt(r: HttpRequest, addr: string): AttemptRecord {
  const rec: AttemptRecord = {
    addr,
    status: 0,
    start: performance.now(),
    connectTime: -1,
    headerTime: -1,
    responseTime: -1,
    length: -1,
  };
  stateOf(r).attempts.push(rec);
  return rec;
}

/** The fields of an upstream response head, names lowercased (the proxy's parser). */
export interface UpstreamHeadFields {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/**
 * The proxy read a response head: $upstream_cookie_* reads it from now on. Only the last head
 * counts, as nginx keeps only the last server's; the parser clears it when a retry starts.
 */
export function recordUpstreamHead(r: HttpRequest, head: UpstreamHeadFields): void {
  stateOf(r).head = head;
}

/** ngx_http_parse_set_cookie_lines: cookie `name` of the first Set-Cookie line that sets it. */
function setCookieValue(head: UpstreamHeadFields, name: string): string | undefined {
  for (let i = 0; i < head.names.length; i++) {
    const line = head.values[i]!;
    if (head.names[i] !== 'set-cookie' || name.length >= line.length) continue;
    if (line.slice(0, name.length).toLowerCase() !== name) continue;
    let p = name.length;
    while (line.charCodeAt(p) === 32) p++;
    if (line.charCodeAt(p++) !== 61 /* = */) continue;
    while (line.charCodeAt(p) === 32) p++;
    const semi = line.indexOf(';', p);
    return line.slice(p, semi < 0 ? line.length : semi);
  }
  return undefined;
}

/** Seconds with milliseconds, as nginx prints upstream times. */
function msec(ms: number): string {
  return (Math.max(0, Math.round(ms)) / 1000).toFixed(3);
}

function joined(field: (a: AttemptRecord) => string): (r: HttpRequest) => string | undefined {
  return (r) => {
    const list = r.upstreamState?.attempts;
    if (list === undefined || list.length === 0) return undefined;
    let out = field(list[0]!);
    for (let i = 1; i < list.length; i++) out += `, ${field(list[i]!)}`;
    return out;
  };
}

function variable(name: string, field: (a: AttemptRecord) => string): VariableDef {
  const get = joined(field);
  return { name, get: (r) => get(r) };
}

export const upstreamVariables: readonly VariableDef[] = [
  variable('upstream_addr', (a) => a.addr),
  variable('upstream_status', (a) => (a.status === 0 ? '-' : String(a.status))),
  variable('upstream_connect_time', (a) => (a.connectTime < 0 ? '-' : msec(a.connectTime))),
  variable('upstream_header_time', (a) => (a.headerTime < 0 ? '-' : msec(a.headerTime))),
  variable('upstream_response_time', (a) =>
    msec(a.responseTime < 0 ? performance.now() - a.start : a.responseTime),
  ),
  variable('upstream_response_length', (a) => String(Math.max(0, a.length))),
  {
    name: 'upstream_cookie_',
    prefix: true,
    get: (r, name) => {
      const head = r.upstreamState?.head;
      return head == null ? undefined : setCookieValue(head, name.slice(16));
    },
  },
];
