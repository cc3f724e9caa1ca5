// Client certificate verification as nginx reports it: OpenSSL's verify result (number and text)
// after the handshake, and the request-time answers of ngx_http_process_request and
// ngx_http_set_virtual_server (495, 496, 497 and 421).
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { HttpServer } from '../build.ts';
import type { TlsSession } from './accept.ts';
import type { VerifyClient } from './context.ts';
import { sslConfOf } from './server_ssl.ts';

/** OpenSSL's X509_V_ERR_* numbers and X509_verify_cert_error_string texts, by Node's code. */
const VERIFY_ERRORS: Record<string, [number, string]> = {
  UNABLE_TO_GET_ISSUER_CERT: [2, 'unable to get issuer certificate'],
  UNABLE_TO_GET_CRL: [3, 'unable to get certificate CRL'],
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: [4, "unable to decrypt certificate's signature"],
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: [5, "unable to decrypt CRL's signature"],
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: [6, 'unable to decode issuer public key'],
  CERT_SIGNATURE_FAILURE: [7, 'certificate signature failure'],
  CRL_SIGNATURE_FAILURE: [8, 'CRL signature failure'],
  CERT_NOT_YET_VALID: [9, 'certificate is not yet valid'],
  CERT_HAS_EXPIRED: [10, 'certificate has expired'],
  CRL_NOT_YET_VALID: [11, 'CRL is not yet valid'],
  CRL_HAS_EXPIRED: [12, 'CRL has expired'],
  ERROR_IN_CERT_NOT_BEFORE_FIELD: [13, "format error in certificate's notBefore field"],
  ERROR_IN_CERT_NOT_AFTER_FIELD: [14, "format error in certificate's notAfter field"],
  ERROR_IN_CRL_LAST_UPDATE_FIELD: [15, "format error in CRL's lastUpdate field"],
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: [16, "format error in CRL's nextUpdate field"],
  OUT_OF_MEM: [17, 'out of memory'],
  DEPTH_ZERO_SELF_SIGNED_CERT: [18, 'self-signed certificate'],
  SELF_SIGNED_CERT_IN_CHAIN: [19, 'self-signed certificate in certificate chain'],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: [20, 'unable to get local issuer certificate'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: [21, 'unable to verify the first certificate'],
  CERT_CHAIN_TOO_LONG: [22, 'certificate chain too long'],
  CERT_REVOKED: [23, 'certificate revoked'],
  INVALID_CA: [24, 'invalid CA certificate'],
  PATH_LENGTH_EXCEEDED: [25, 'path length constraint exceeded'],
  INVALID_PURPOSE: [26, 'unsupported certificate purpose'],
  CERT_UNTRUSTED: [27, 'certificate not trusted'],
  CERT_REJECTED: [28, 'certificate rejected'],
};

/** ngx_ssl_verify_error_optional: what `ssl_verify_client optional_no_ca` lets through. */
const OPTIONAL_NO_CA = new Set([18, 19, 2, 20, 21]);

export interface VerifyResult {
  /** The client's certificate, null when it sent none (or was not asked). */
  readonly cert: X509Certificate | null;
  /** X509_V_ERR_* and its text; null for X509_V_OK. */
  readonly error: readonly [number, string] | null;
}

const NO_CERT: VerifyResult = { cert: null, error: null };

/** The part of Node's TLSWrap that holds OpenSSL's verify result (SSL_get_verify_result). */
interface VerifyHandle {
  verifyError(): (Error & { code?: string }) | null;
}

/**
 * The verify result of a finished handshake. A tls.Server would put it in `authorizationError`;
 * a TLSSocket made by hand must ask its handle, as Node's own server code does. OpenSSL's verify
 * depth (ssl_verify_depth) is applied here, Node having no setting for it.
 */
export function verifyResultOf(socket: TLSSocket, requested: boolean, depth: number): VerifyResult {
  if (!requested) return NO_CERT;
  const cert = socket.getPeerX509Certificate() ?? null;
  if (cert === null) return NO_CERT;
  const code = (socket as unknown as { ssl: VerifyHandle }).ssl.verifyError()?.code;
  if (code) return { cert, error: VERIFY_ERRORS[code] ?? [1, 'unspecified certificate verification error'] };
  let length = 1;
  for (let c = cert; c.issuerCertificate !== undefined && !c.checkIssued(c); c = c.issuerCertificate)
    length++;
  // OpenSSL builds chains of at most depth + 1 certificates, the trusted one included.
  return length > depth + 1 ? { cert, error: VERIFY_ERRORS.CERT_CHAIN_TOO_LONG } : { cert, error: null };
}

/** A request nginx refuses before running any phase: the status, the server answering, the log line. */
export interface Refusal {
  readonly status: number;
  readonly server: HttpServer;
  readonly message: string;
}

/**
 * The TLS checks nginx makes on every request of an `ssl` address, in its order: plain HTTP (497),
 * a Host that leaves the SNI server for one verifying clients (421), then the client certificate
 * the request's server asks for (495, 496). `server` is the one the Host picked.
 */
export function refuseRequest(session: TlsSession | null, server: HttpServer, host: string): Refusal | null {
  if (session === null)
    return { status: 497, server, message: 'client sent plain HTTP request to HTTPS port' };
  const conf = sslConfOf(server);
  if (conf.verify === 'off') return null;
  const sni = session.sniServer;
  if (sni !== null && host !== session.servername.toLowerCase()) {
    const message = 'client attempted to request the server name different from the one that was negotiated';
    return { status: 421, server: sni, message };
  }
  const failure = clientCertFailure(conf.verify, session.verify);
  return failure === null ? null : { ...failure, server };
}

/**
 * Whether a client certificate fails `ssl_verify_client` (ngx_http_process_request and
 * ngx_stream_ssl_handler make the same checks): nginx's status for HTTP and its log line.
 */
export function clientCertFailure(
  verify: VerifyClient,
  result: VerifyResult,
): { status: 495 | 496; message: string } | null {
  if (verify === 'off') return null;
  const { cert, error } = result;
  if (error !== null && !(verify === 'optional_no_ca' && OPTIONAL_NO_CA.has(error[0]))) {
    return { status: 495, message: `client SSL certificate verify error: (${error[0]}:${error[1]})` };
  }
  if (verify === 'on' && cert === null) {
    return { status: 496, message: 'client sent no required SSL certificate' };
  }
  return null;
}
