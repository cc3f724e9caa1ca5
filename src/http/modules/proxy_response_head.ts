// The upstream's response head made the client's (ngx_http_upstream_process_headers): the fields
// proxy_headers lets through with a relative Location made absolute, the fields the balancer adds
// on learning from the head (sticky learn), the head of a 101 handed to the upgrade, and whether a
// small body is held back to leave with its head. The exchange decides when; this decides what.

import { PROGRAM, VERSION } from '../../core/version.ts';
import type { UpstreamResponseParser } from '../engine/upstream_response_parser.ts';
import type { LocationCore, Request } from '../request.ts';
import type { Peer, PeerSelection } from '../upstream/balancer.ts';
import type { ProxyConf } from './proxy_conf.ts';
import { copyResponseHeaders } from './proxy_headers.ts';

/** Bodies up to this size that arrive with their head are sent with it in one write. */
const HOLD_LIMIT = 16384;

/** proxy_intercept_errors: the status goes to the location's error_page instead. */
export function interceptsError(r: Request, conf: ProxyConf, status: number): boolean {
  return conf.interceptErrors && status >= 300 && coreOf(r).errorPages.has(status);
}

/** The head's fields into r.headersOut, sent raw with the upstream's status text. */
export function adoptResponseHead(
  r: Request,
  p: UpstreamResponseParser,
  conf: ProxyConf,
  selection: PeerSelection,
  peer: Peer,
): void {
  const learn = selection.responseHead;
  const extra: string[] | null = learn === undefined ? null : [];
  if (extra !== null) selection.responseHead?.(peer, p.status, p.headerPairs(), extra);
  const relative = copyResponseHeaders(r, p, conf.hidden, conf.redirects, r.headersOut);
  if (relative >= 0) r.headersOut[relative] = r.absoluteLocation(r.headersOut[relative] as string);
  if (extra !== null) for (const x of extra) r.headersOut.push(x);
  r.rawHead = true;
  r.statusText = p.statusText;
}

/** Whether a body of this length (-1: unknown) waits to go out with its head in one write. */
export function holdsBody(r: Request, status: number, length: number): boolean {
  return length >= 0 && length <= HOLD_LIMIT && r.method !== 'HEAD' && status !== 204 && status !== 304;
}

/** The 101 head's fields: Server, as the header filter puts it, then the upstream's. */
export function upgradeHead(r: Request, p: UpstreamResponseParser, conf: ProxyConf): string[] {
  const copied: string[] = [];
  copyResponseHeaders(r, p, conf.hidden, conf.redirects, copied);
  return ['Server', serverHeader(r), ...copied];
}

function coreOf(r: Request): LocationCore {
  return r.location.conf.get('http_core') as LocationCore;
}

/** The Server header nginx's header filter sends (server_tokens). */
function serverHeader(r: Request): string {
  return coreOf(r).serverTokens ? `${PROGRAM}/${VERSION}` : PROGRAM;
}
