// ngx_http_proxy_module: `proxy_pass` takes over a location's content phase (nginx's
// clcf->handler), builds the upstream request and runs it through ProxyExchange. The client body
// is read whole first (proxy_request_buffering on, so a failed try can be repeated), or streamed.
import type { Module } from '../../core/module.ts';
import type { VariableDef } from '../../variables/types.ts';
import type { HttpError } from '../engine/types.ts';
import type { Request } from '../request.ts';
import type { HttpRequest, LocationConf, PhaseResult } from '../types.ts';
import type { UpstreamGroup } from '../upstream/balancer.ts';
import { resolveHostSync } from '../upstream/resolve.ts';
import { buildProxyConf, type ProxyConf, proxyDirectives } from './proxy_conf.ts';
import { ProxyExchange } from './proxy_exchange.ts';
import type { BodyFraming } from './proxy_headers.ts';
import { type ProxyUrl, parseProxyUrl, upstreamUri } from './proxy_pass.ts';
import { upstreamTlsFor } from './proxy_ssl.ts';

const MODULE = 'http_proxy';

const NO_BODY: BodyFraming = { length: -1, chunked: false };

/** The URL a request is proxied to, kept for $proxy_host / $proxy_port. */
function urlOf(r: HttpRequest): ProxyUrl | undefined {
  return (
    (r.ctxValue(MODULE) as ProxyUrl | undefined) ??
    (r.location.conf.get(MODULE) as ProxyConf | undefined)?.url ??
    undefined
  );
}

/** An URL with variables: its group, or the status to answer (nginx resolves at run time). */
function dynamicTarget(r: HttpRequest, conf: ProxyConf): { url: ProxyUrl; group: UpstreamGroup } | number {
  const text = (conf.dynamic as NonNullable<ProxyConf['dynamic']>).evaluate(r);
  let url: ProxyUrl;
  try {
    url = parseProxyUrl(text, (m) => {
      throw new Error(m);
    });
  } catch (err) {
    r.logError('error', (err as Error).message);
    return 500;
  }
  const named = conf.registry.named(url.host);
  if (named !== undefined && url.port === 0) return { url, group: named };
  const host = url.host.startsWith('[') ? url.host.slice(1, -1) : url.host;
  // without a `resolver`, nginx reaches only upstream names and address literals
  const literal = resolveLiteral(host);
  if (literal === null) {
    r.logError('error', `no resolver defined to resolve ${url.host}`);
    return 502;
  }
  return { url, group: conf.registry.implicitGroup(host, Number(url.proxyPort), literal) };
}

function resolveLiteral(host: string): string[] | null {
  return /^[0-9.]+$/.test(host) || host.includes(':') ? resolveHostSync(host) : null;
}

/** Body framing toward the upstream, as $proxy_internal_body_length / _chunked give it. */
function framingFor(r: HttpRequest, buffered: Buffer | null, stream: boolean): BodyFraming {
  const p = r.parsed;
  if (buffered !== null) return { length: buffered.length, chunked: false };
  if (stream) return p.chunked ? { length: -1, chunked: true } : { length: p.contentLength, chunked: false };
  // proxy_pass_request_body off still declares the client's length, as nginx does
  if (!p.chunked && r.header('content-length') !== undefined)
    return { length: p.contentLength, chunked: false };
  return NO_BODY;
}

/**
 * The content handler. Without a body to read first it runs without a promise: the exchange
 * starts at once and the handler returns DONE (a failure status reaches the phase runner later).
 */
function proxyHandler(r: HttpRequest, conf: ProxyConf): PhaseResult | Promise<PhaseResult> {
  let url = conf.url;
  let group = conf.group;
  if (conf.dynamic !== null) {
    const target = dynamicTarget(r, conf);
    if (typeof target === 'number') return target;
    url = target.url;
    group = target.group;
    r.ctx.set(MODULE, url);
  }
  const p = r.parsed;
  const hasBody = p.chunked || p.contentLength > 0;
  // an HTTP/1.0 upstream cannot take a chunked body: nginx buffers it then
  const stream =
    hasBody && conf.passRequestBody && !conf.requestBuffering && (!p.chunked || conf.httpVersion === 11);
  if (hasBody && conf.passRequestBody && !stream) {
    return bufferedBody(r, conf, url as ProxyUrl, group as UpstreamGroup);
  }
  return exchange(r, conf, url as ProxyUrl, group as UpstreamGroup, null, stream).start();
}

/** proxy_request_buffering on: the whole body first (a failed try can then be repeated). */
async function bufferedBody(
  r: HttpRequest,
  conf: ProxyConf,
  url: ProxyUrl,
  group: UpstreamGroup,
): Promise<PhaseResult> {
  let body: Buffer;
  try {
    body = await r.body.readAll(conf.clientMaxBodySize);
  } catch (err) {
    const status = (err as HttpError).status ?? 500;
    if (status === 413) r.logError('error', (err as Error).message);
    return status;
  }
  return exchange(r, conf, url, group, body, false).run();
}

function exchange(
  r: HttpRequest,
  conf: ProxyConf,
  url: ProxyUrl,
  group: UpstreamGroup,
  body: Buffer | null,
  stream: boolean,
): ProxyExchange {
  const p = r.parsed;
  const framing = framingFor(r, body, stream);
  // the client's target as is when nothing changed it (the usual case: no URI mapping to do)
  const uri =
    url.uri === '' && !r.internal && conf.dynamic === null
      ? p.target
      : upstreamUri(r, url.uri, conf.dynamic !== null, conf.uriContext, {
          unchanged: !r.internal,
          validLocation: r.uri.startsWith(conf.uriContext.location),
          quoted: p.target.includes('%'),
        });
  const line = `${r.method} ${uri} HTTP/1.${conf.httpVersion === 11 ? 1 : 0}\r\n`;
  const head = conf.headers.build(r, line, framing, conf.passRequestHeaders);
  return new ProxyExchange(r as Request, conf, {
    group,
    schema: url.schema,
    tls: url.schema === 'https://' && conf.ssl !== null ? upstreamTlsFor(conf.ssl, r, url.hostHeader) : null,
    uri,
    head,
    framing,
    body,
    streamBody: stream,
  });
}

/** $proxy_add_x_forwarded_for: the client's X-Forwarded-For with its address appended. */
function addForwardedFor(r: HttpRequest): string {
  const { names, values } = r.parsed;
  let list: string | undefined;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === 'x-forwarded-for') list = list === undefined ? values[i] : `${list}, ${values[i]}`;
  }
  return list === undefined ? r.conn.remoteAddress : `${list}, ${r.conn.remoteAddress}`;
}

const proxyVariables: VariableDef[] = [
  { name: 'proxy_host', get: (r) => urlOf(r)?.hostHeader },
  { name: 'proxy_port', get: (r) => urlOf(r)?.proxyPort },
  { name: 'proxy_add_x_forwarded_for', get: addForwardedFor },
];

export const proxyModule: Module = {
  name: MODULE,
  directives: proxyDirectives,
  variables: proxyVariables,
  http: {
    location(loc: LocationConf, cx) {
      const conf = buildProxyConf(loc, cx);
      if (conf === null) return undefined;
      loc.conf.set(MODULE, conf);
      loc.contentHandler = (r) => proxyHandler(r, conf);
      loc.autoRedirect = true;
      return undefined;
    },
  },
};
