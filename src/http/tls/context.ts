// Builds one server's TLS context from its ssl_* settings, as nginx's ngx_http_ssl_merge_srv_conf
// does with OpenSSL: every file is read when the cycle is built (so a reload re-reads them), and
// a bad one is refused with nginx's `[emerg]` text, OpenSSL's reason included.
import {
  createHash,
  createPrivateKey,
  constants as cryptoConstants,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../../config/types.ts';

export type VerifyClient = 'off' | 'on' | 'optional' | 'optional_no_ca';

/** The ssl_* directives of one server after inheritance, paths already resolved. */
export interface SslSettings {
  readonly certificates: readonly string[];
  readonly keys: readonly string[];
  /** ssl_password_file's lines; null without one. */
  readonly passwords: readonly string[] | null;
  readonly protocols: ReadonlySet<string>;
  readonly ciphers: string;
  readonly preferServerCiphers: boolean;
  readonly verify: VerifyClient;
  readonly verifyDepth: number;
  readonly clientCertificate: string;
  readonly trustedCertificate: string;
  readonly crl: string;
  readonly dhparam: string;
  readonly ecdhCurve: string;
  readonly sessionTimeout: number;
  readonly sessionTickets: boolean;
  /** The first ssl_session_ticket_key, when it is a 48-byte key. */
  readonly ticketKey: Buffer | null;
}

/** OpenSSL's errno packing and strerror texts, for the `calling fopen(...)` part of nginx's errors. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

/** strerror() with its number, as nginx prints a failed system call: `2: No such file or directory`. */
export function osErrorText(err: NodeJS.ErrnoException): string {
  return `${Math.abs(err.errno ?? 0)}: ${STRERROR[err.code ?? ''] ?? err.message}`;
}

/** OpenSSL's error queue after a failed fopen(), as nginx prints it after `(SSL: `. */
function fopenErrors(path: string, err: NodeJS.ErrnoException): string {
  const errno = Math.abs(err.errno ?? 0);
  const code = (0x80000000 + errno).toString(16).toUpperCase();
  const reason = STRERROR[err.code ?? ''] ?? err.message;
  const bio =
    err.code === 'ENOENT'
      ? 'error:10000080:BIO routines::no such file'
      : 'error:10080002:BIO routines::system lib';
  return `error:${code}:system library::${reason}:calling fopen(${path}, r) ${bio}`;
}

const NO_CERT_OR_CRL = 'error:05800088:x509 certificate routines::no certificate or crl found';
const X509_SYSTEM_LIB = 'error:05880002:x509 certificate routines::system lib';

/** Read a file or throw nginx's error: `${what} (SSL: <fopen errors>${tail})`. */
function readOrFail(path: string, what: string, tail = ''): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    throw new ConfigError(`${what} (SSL: ${fopenErrors(path, err as NodeJS.ErrnoException)}${tail})`);
  }
}

/** The PEM blocks of one kind (`CERTIFICATE`, `X509 CRL` ...) in a file's text. */
function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return text.match(re) ?? [];
}

/** OpenSSL's message for a PEM parse failure, with the detail OpenSSL adds to `no start line`. */
function pemReason(err: unknown, expecting: string): string {
  const message = (err as Error).message;
  if (message.endsWith('no start line')) return `${message}:Expecting: ${expecting}`;
  if (message.endsWith('DECODER routines::unsupported'))
    return `${message}:No supported data to decode. Input type: PEM`;
  return message;
}

function loadCertificate(path: string): { pem: string; x509: X509Certificate } {
  const pem = readOrFail(path, `cannot load certificate "${path}": BIO_new_file() failed`);
  try {
    return { pem, x509: new X509Certificate(pem) };
  } catch (err) {
    throw new ConfigError(
      `cannot load certificate "${path}": PEM_read_bio_X509_AUX() failed (SSL: ${pemReason(err, 'TRUSTED CERTIFICATE')})`,
    );
  }
}

/** The key, decrypted with the first password of ssl_password_file that fits (nginx tries each). */
function loadKey(path: string, passwords: readonly string[] | null): KeyObject {
  const pem = readOrFail(path, `cannot load certificate key "${path}": BIO_new_file() failed`);
  let failure: unknown;
  for (const passphrase of passwords ?? [undefined]) {
    try {
      return createPrivateKey({ key: pem, passphrase });
    } catch (err) {
      failure = err;
    }
  }
  throw new ConfigError(
    `cannot load certificate key "${path}": PEM_read_bio_PrivateKey() failed (SSL: ${pemReason(failure, 'ANY PRIVATE KEY')})`,
  );
}

/**
 * The certificate chains and keys, pair by pair. OpenSSL keeps one certificate per key type, a
 * later pair replacing an earlier one of the same type (RSA and ECDSA pairs live side by side).
 */
export function certificatePairs(s: Pick<SslSettings, 'certificates' | 'keys' | 'passwords'>): {
  cert: string[];
  key: string[];
  fingerprints: string[];
} {
  const byType = new Map<string, { cert: string; key: string; fingerprint: string }>();
  for (let i = 0; i < s.certificates.length; i++) {
    const cert = loadCertificate(s.certificates[i]);
    const key = loadKey(s.keys[i], s.passwords);
    if (!cert.x509.checkPrivateKey(key)) {
      throw new ConfigError(
        `SSL_CTX_use_PrivateKey("${s.keys[i]}") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)`,
      );
    }
    const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    byType.set(key.asymmetricKeyType ?? '', {
      cert: cert.pem,
      key: keyPem,
      fingerprint: cert.x509.fingerprint256,
    });
  }
  const pairs = [...byType.values()];
  return {
    cert: pairs.map((p) => p.cert),
    key: pairs.map((p) => p.key),
    fingerprints: pairs.map((p) => p.fingerprint),
  };
}

/** CA certificates for verifying clients: ssl_client_certificate and ssl_trusted_certificate. */
export function verifyLocations(path: string): string[] {
  const what = `SSL_CTX_load_verify_locations("${path}") failed`;
  const certs = pemBlocks(readOrFail(path, what, ` ${X509_SYSTEM_LIB}`), 'CERTIFICATE');
  if (certs.length === 0) throw new ConfigError(`${what} (SSL: ${NO_CERT_OR_CRL})`);
  return certs;
}

export function crlList(path: string): string[] {
  const what = `X509_LOOKUP_load_file("${path}") failed`;
  const crls = pemBlocks(readOrFail(path, what, ` ${X509_SYSTEM_LIB}`), 'X509 CRL');
  if (crls.length === 0) throw new ConfigError(`${what} (SSL: ${NO_CERT_OR_CRL})`);
  return crls;
}

function dhParams(path: string): string {
  const text = readOrFail(path, `BIO_new_file("${path}") failed`);
  const params = pemBlocks(text, 'DH PARAMETERS');
  if (params.length === 0) {
    throw new ConfigError(
      `PEM_read_bio_DHparams("${path}") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)`,
    );
  }
  return params[0];
}

const PROTOCOL_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
const NO_PROTOCOL: Record<(typeof PROTOCOL_ORDER)[number], number> = {
  TLSv1: cryptoConstants.SSL_OP_NO_TLSv1,
  'TLSv1.1': cryptoConstants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': cryptoConstants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': cryptoConstants.SSL_OP_NO_TLSv1_3,
};

/**
 * ssl_protocols as nginx applies it: every version OpenSSL knows is allowed, and SSL_OP_NO_* turns
 * off each one not listed (so `TLSv1 TLSv1.2` leaves a hole at 1.1, as in nginx). SSLv2/SSLv3 are
 * accepted but OpenSSL 3 has neither. TLSv1 and TLSv1.1 also need `@SECLEVEL=0` in ssl_ciphers
 * under OpenSSL 3's default security level, exactly as with nginx built on OpenSSL 3.
 */
export function protocolOptions(
  protocols: ReadonlySet<string>,
): Pick<SecureContextOptions, 'minVersion' | 'maxVersion'> & { off: number } {
  let off = 0;
  for (const p of PROTOCOL_ORDER) if (!protocols.has(p)) off |= NO_PROTOCOL[p];
  return { minVersion: 'TLSv1', maxVersion: 'TLSv1.3', off };
}

/** nginx's SSL_CTX_set1_curves_list error names the first group OpenSSL refuses. */
function curveError(list: string): ConfigError {
  const bad = list.split(':').find((c) => {
    try {
      createSecureContext({ ecdhCurve: c });
      return false;
    } catch {
      return true;
    }
  });
  return new ConfigError(
    `SSL_CTX_set1_curves_list("${list}") failed (SSL: error:0A080106:SSL routines::passed invalid argument:group '${bad ?? list}' cannot be set)`,
  );
}

/**
 * The server's SecureContext, or null when it has no certificate (a server reached by SNI then
 * keeps the default server's, as in nginx). Throws nginx's `[emerg]` for anything unusable.
 */
export function buildSecureContext(s: SslSettings): SecureContext | null {
  if (s.certificates.length > 0 && s.keys.length < s.certificates.length) {
    throw new ConfigError(
      `no "ssl_certificate_key" is defined for certificate "${s.certificates[s.certificates.length - 1]}"`,
    );
  }
  if (s.certificates.length === 0) return null;
  const pairs = certificatePairs(s);
  if (s.verify !== 'off' && s.verify !== 'optional_no_ca' && s.clientCertificate === '') {
    throw new ConfigError('no ssl_client_certificate for ssl_verify_client');
  }
  const ca: string[] = [];
  if (s.verify !== 'off' && s.clientCertificate !== '') ca.push(...verifyLocations(s.clientCertificate));
  if (s.trustedCertificate !== '') ca.push(...verifyLocations(s.trustedCertificate));
  const crl = s.crl === '' ? undefined : crlList(s.crl);
  const versions = protocolOptions(s.protocols);
  const options: SecureContextOptions = {
    cert: pairs.cert,
    key: pairs.key,
    // Always a list, even empty: without one Node would trust its bundled public CAs.
    ca,
    crl,
    minVersion: versions.minVersion,
    maxVersion: versions.maxVersion,
    secureOptions: versions.off | (s.sessionTickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
    ciphers: s.ciphers,
    honorCipherOrder: s.preferServerCiphers,
    ecdhCurve: s.ecdhCurve,
    dhparam: s.dhparam === '' ? undefined : dhParams(s.dhparam),
    sessionTimeout: s.sessionTimeout,
    ticketKeys: s.ticketKey ?? undefined,
    // Resumed sessions must come back to a server with the same certificates and client CAs
    // (nginx's ngx_ssl_session_id_context hashes the same things).
    sessionIdContext: createHash('md5')
      .update([...pairs.fingerprints, ...ca].join('\n'))
      .digest('hex'),
  };
  try {
    return createSecureContext(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_SSL_NO_CIPHER_MATCH') {
      throw new ConfigError(`SSL_CTX_set_cipher_list("${s.ciphers}") failed (SSL: ${e.message})`);
    }
    if (/ECDH curve/.test(e.message)) throw curveError(s.ecdhCurve);
    throw new ConfigError(`SSL_CTX_new() failed (SSL: ${e.message})`);
  }
}
