// The client side of zone_sync's TLS (zone_sync_ssl on): a context built from the
// zone_sync_ssl_* directives with the same loaders as the servers' (../../http/tls/context.ts),
// and the checks nginx's ngx_ssl_check_host and ngx_ssl_get_verify_result make on the peer's
// certificate after the handshake. A peer that fails them is logged and never spoken to.
import { constants as cryptoConstants } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfBlock } from '../../config/types.ts';
import { ConfigError } from '../../config/types.ts';
import { certificatePairs, crlList, protocolOptions, verifyLocations } from '../../http/tls/context.ts';
import { verifyResultOf } from '../../http/tls/verify.ts';

export interface ClientTls {
  readonly context: SecureContext;
  /** zone_sync_ssl_verify. */
  readonly verify: boolean;
  readonly verifyDepth: number;
  /** zone_sync_ssl_name; undefined: the host of the zone_sync_server line. */
  readonly name: string | undefined;
  /** zone_sync_ssl_server_name: send the name as SNI. */
  readonly serverName: boolean;
}

const DEFAULT_PROTOCOLS: ReadonlySet<string> = new Set(['TLSv1.2', 'TLSv1.3']);

/**
 * SSL_CONF_cmd commands Node's TLS can apply, as the context option each sets. The others (Options,
 * VerifyMode, RecordPadding ...) have no counterpart in Node and are refused at load.
 */
const CONF_COMMANDS: Record<string, 'ciphers' | 'ecdhCurve' | 'sigalgs' | 'minVersion' | 'maxVersion'> = {
  ciphersuites: 'ciphers',
  cipherstring: 'ciphers',
  groups: 'ecdhCurve',
  curves: 'ecdhCurve',
  signaturealgorithms: 'sigalgs',
  minprotocol: 'minVersion',
  maxprotocol: 'maxVersion',
};

/** zone_sync_ssl_conf_command lines as context options; an unknown command is nginx's emerg. */
function confCommands(block: ConfBlock): Record<string, string> {
  const options: Record<string, string> = {};
  for (const e of inherited(block, 'zone_sync_ssl_conf_command')) {
    const [name, value] = e.args;
    const option = CONF_COMMANDS[name.toLowerCase()];
    if (option === undefined) {
      throw new ConfigError(
        `SSL_CONF_cmd("${name}", "${value}") failed (not supported by this build: only Ciphersuites, CipherString, Groups, Curves, SignatureAlgorithms, MinProtocol and MaxProtocol apply)`,
        e.file,
        e.line,
      );
    }
    // TLS 1.3 suites and the TLS 1.2 cipher string share Node's one `ciphers` list.
    options[option] = option === 'ciphers' && options.ciphers ? `${options.ciphers}:${value}` : value;
  }
  return options;
}

/** The context and checks of zone_sync_ssl on, read (files included) when the cycle is built. */
export function buildClientTls(block: ConfBlock): ClientTls {
  const value = <T>(name: string, fallback: T): T => inheritedValue(block, name, fallback);
  const certificate = value('zone_sync_ssl_certificate', '');
  const key = value('zone_sync_ssl_certificate_key', '');
  if (certificate !== '' && key === '') {
    throw new ConfigError(`no "zone_sync_ssl_certificate_key" is defined for certificate "${certificate}"`);
  }
  const verify = value('zone_sync_ssl_verify', false);
  const trusted = value('zone_sync_ssl_trusted_certificate', '');
  if (verify && trusted === '') {
    throw new ConfigError('no zone_sync_ssl_trusted_certificate for zone_sync_ssl_verify');
  }
  const pairs =
    certificate === ''
      ? { cert: [], key: [] }
      : certificatePairs({
          certificates: [certificate],
          keys: [key],
          passwords: value<string[] | null>('zone_sync_ssl_password_file', null),
        });
  const crl = value('zone_sync_ssl_crl', '');
  const versions = protocolOptions(value('zone_sync_ssl_protocols', DEFAULT_PROTOCOLS));
  const commands = confCommands(block);
  const ciphers = inherited(block, 'zone_sync_ssl_ciphers')[0]?.args[0] ?? 'DEFAULT';
  try {
    const context = createSecureContext({
      cert: pairs.cert,
      key: pairs.key,
      // Always a list, even empty: without one Node would trust its bundled public CAs.
      ca: trusted === '' ? [] : verifyLocations(trusted),
      crl: crl === '' ? undefined : crlList(crl),
      minVersion: versions.minVersion,
      maxVersion: versions.maxVersion,
      secureOptions: versions.off | cryptoConstants.SSL_OP_NO_TICKET,
      ciphers,
      ...commands,
    });
    return {
      context,
      verify,
      verifyDepth: value('zone_sync_ssl_verify_depth', 1),
      name: inherited(block, 'zone_sync_ssl_name')[0]?.args[0],
      serverName: value('zone_sync_ssl_server_name', false),
    };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_SSL_NO_CIPHER_MATCH') {
      throw new ConfigError(`SSL_CTX_set_cipher_list("${ciphers}") failed (SSL: ${e.message})`);
    }
    throw new ConfigError(`SSL_CTX_new() failed (SSL: ${e.message})`);
  }
}

/**
 * Run the client handshake on a connected socket. `done` gets the TLS socket, or the reason the
 * peer is refused (nginx's wording for upstreams: `... while SSL handshaking to peer`).
 */
export function clientHandshake(
  socket: Socket,
  tls: ClientTls,
  host: string,
  done: (result: { socket: TLSSocket } | { failure: string }) => void,
): TLSSocket {
  const name = tls.name ?? host;
  const secure = connect({
    socket,
    secureContext: tls.context,
    servername: tls.serverName ? name : undefined,
    // Verification is ours, below, so the reason can be logged in nginx's words.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  let settled = false;
  const finish = (result: { socket: TLSSocket } | { failure: string }) => {
    if (settled) return;
    settled = true;
    done(result);
  };
  secure.once('secureConnect', () => {
    const failure = tls.verify ? verifyFailure(secure, tls, name) : null;
    finish(failure === null ? { socket: secure } : { failure });
  });
  secure.once('error', (err) => finish({ failure: `SSL_do_handshake() failed (SSL: ${err.message})` }));
  secure.once('close', () => finish({ failure: 'connection closed while SSL handshaking' }));
  return secure;
}

function verifyFailure(socket: TLSSocket, tls: ClientTls, name: string): string | null {
  const { cert, error } = verifyResultOf(socket, true, tls.verifyDepth);
  if (cert === null) return 'peer sent no SSL certificate';
  if (error !== null) return `peer SSL certificate verify error: (${error[0]}:${error[1]})`;
  const matches = isIP(name) !== 0 ? cert.checkIP(name) : cert.checkHost(name);
  return matches === undefined ? `peer SSL certificate does not match "${name}"` : null;
}
