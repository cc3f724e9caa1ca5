// ngx_http_ssl_module's variables (ngx_ssl_get_* in ngx_event_openssl.c), read from the
// connection's TLS session. On plain connections they are all "not found", as in nginx.
import type { X509Certificate } from 'node:crypto';
import type { VariableDef } from '../../variables/types.ts';
import { type TlsSession, tlsSessionOf } from '../tls/accept.ts';
import type { HttpRequest } from '../types.ts';

function fromSession(name: string, get: (s: TlsSession) => string | undefined): VariableDef {
  return {
    name,
    get: (r: HttpRequest) => {
      const s = tlsSessionOf(r.conn);
      return s === null ? undefined : get(s) || undefined;
    },
  };
}

function fromClientCert(name: string, get: (c: X509Certificate) => string): VariableDef {
  return fromSession(name, (s) => (s.verify.cert === null ? undefined : get(s.verify.cert)));
}

/**
 * X509_NAME_print_ex with XN_FLAG_RFC2253, from Node's one-RDN-a-line form (which escapes as
 * RFC 2253 already): every attribute in reverse order, `,` between RDNs and `+` inside one, and
 * bytes above 0x7F as `\XX` (OpenSSL's ASN1_STRFLGS_ESC_MSB).
 */
export function rfc2253(multiline: string): string {
  const rdns = multiline.split('\n').map((rdn) => rdn.split(' + ').reverse().join('+'));
  return rdns
    .reverse()
    .join(',')
    .replace(/[^\x00-\x7f]+/g, (s) =>
      [...Buffer.from(s, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase()}`).join(''),
    );
}

/** ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT): all but letters, digits and `-._~`. */
function escapeUriComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** $ssl_client_cert: the PEM without its last newline, every line after the first led by a tab. */
function tabbedPem(cert: X509Certificate): string {
  return cert.toString().replace(/\n$/, '').replaceAll('\n', '\n\t');
}

/** ngx_ssl_get_client_verify: NONE without a certificate, else SUCCESS or FAILED:reason. */
function clientVerify(s: TlsSession): string {
  if (s.verify.cert === null) return 'NONE';
  return s.verify.error === null ? 'SUCCESS' : `FAILED:${s.verify.error[1]}`;
}

function daysRemaining(cert: X509Certificate): string {
  const left = Date.parse(cert.validTo) - Date.now();
  return String(left > 0 ? Math.floor(left / 86_400_000) : 0);
}

export const sslVariables: readonly VariableDef[] = [
  fromSession('ssl_protocol', (s) => s.socket.getProtocol() ?? undefined),
  fromSession('ssl_cipher', (s) => s.socket.getCipher()?.name),
  fromSession('ssl_server_name', (s) => s.servername),
  fromSession('ssl_session_reused', (s) => (s.socket.isSessionReused() ? 'r' : '.')),
  fromSession('ssl_alpn_protocol', (s) => s.socket.alpnProtocol || undefined),
  fromSession('ssl_client_verify', clientVerify),
  fromClientCert('ssl_client_s_dn', (c) => rfc2253(c.subject)),
  fromClientCert('ssl_client_i_dn', (c) => rfc2253(c.issuer)),
  fromClientCert('ssl_client_serial', (c) => c.serialNumber),
  fromClientCert('ssl_client_fingerprint', (c) => c.fingerprint.replaceAll(':', '').toLowerCase()),
  fromClientCert('ssl_client_raw_cert', (c) => c.toString()),
  fromClientCert('ssl_client_cert', tabbedPem),
  fromClientCert('ssl_client_escaped_cert', (c) => escapeUriComponent(c.toString())),
  fromClientCert('ssl_client_v_start', (c) => c.validFrom),
  fromClientCert('ssl_client_v_end', (c) => c.validTo),
  fromClientCert('ssl_client_v_remain', daysRemaining),
];
