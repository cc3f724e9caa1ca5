// The client side of TLS as nginx's proxy_ssl_* directives configure it, shared by proxy_pass
// (proxy_ssl_*) and zone_sync (zone_sync_ssl_*, the same directives under another prefix): the
// directive table, the context built from it when the cycle is built (files read with the
// servers' loaders, ./context.ts), and the checks nginx's ngx_ssl_check_host and
// SSL_get_verify_result make on the server's certificate after the handshake.
import { constants as cryptoConstants } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfBlock, Context, DirectiveSpec } from '../../config/types.ts';
import { ConfigError } from '../../config/types.ts';
import { flagDirective, numberDirective } from '../../config/values.ts';
import { sslServerDirectives } from '../modules/ssl.ts';
import { certificatePairs, crlList, protocolOptions, verifyLocations } from './context.ts';
import { verifyResultOf } from './verify.ts';

export interface ClientTls {
  readonly context: SecureContext;
  /** <prefix>_verify. */
  readonly verify: boolean;
  readonly verifyDepth: number;
  /** <prefix>_name as written; undefined: the host the connection is for. */
  readonly name: string | undefined;
  /** <prefix>_server_name: send the name as SNI. */
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

/**
 * `<prefix>_certificate`, `_verify` ... (`proxy_ssl`, `zone_sync_ssl`) for `contexts`; the file
 * and protocol parsers are the ssl module's (ssl_certificate -> proxy_ssl_certificate).
 */
export function clientTlsDirectives(prefix: string, contexts: readonly Context[]): DirectiveSpec[] {
  const shared = new Map(sslServerDirectives(contexts).map((d) => [d.name, d]));
  const renamed = (suffix: string): DirectiveSpec => ({
    ...(shared.get(`ssl_${suffix}`) as DirectiveSpec),
    name: `${prefix}_${suffix}`,
    multiple: false,
  });
  return [
    renamed('certificate'),
    renamed('certificate_key'),
    renamed('password_file'),
    renamed('protocols'),
    { name: `${prefix}_ciphers`, contexts, args: [1] },
    renamed('crl'),
    renamed('trusted_certificate'),
    { name: `${prefix}_name`, contexts, args: [1] },
    flagDirective(`${prefix}_server_name`, contexts),
    flagDirective(`${prefix}_verify`, contexts),
    numberDirective(`${prefix}_verify_depth`, contexts),
    {
      name: `${prefix}_conf_command`,
      contexts,
      args: [2],
      multiple: true,
      parse: (e) => ({ name: e.args[0], value: e.args[1] }),
    },
  ];
}

/** <prefix>_conf_command lines as context options; an unknown command is nginx's emerg. */
function confCommands(block: ConfBlock, prefix: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const e of inherited(block, `${prefix}_conf_command`)) {
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

/**
 * The context and checks of `<prefix>_*` at `block`, read (files included) when the cycle is
 * built. `tickets`: whether the server may issue session tickets (for session reuse).
 */
export function buildClientTls(block: ConfBlock, prefix: string, tickets: boolean): ClientTls {
  const value = <T>(name: string, fallback: T): T => inheritedValue(block, `${prefix}_${name}`, fallback);
  const certificate = value('certificate', '');
  const key = value('certificate_key', '');
  if (certificate !== '' && key === '') {
    throw new ConfigError(`no "${prefix}_certificate_key" is defined for certificate "${certificate}"`);
  }
  const verify = value('verify', false);
  const trusted = value('trusted_certificate', '');
  if (verify && trusted === '') {
    throw new ConfigError(`no ${prefix}_trusted_certificate for ${prefix}_verify`);
  }
  const pairs =
    certificate === ''
      ? { cert: [], key: [] }
      : certificatePairs({
          certificates: [certificate],
          keys: [key],
          passwords: value<string[] | null>('password_file', null),
        });
  const crl = value('crl', '');
  const versions = protocolOptions(value('protocols', DEFAULT_PROTOCOLS));
  const commands = confCommands(block, prefix);
  const ciphers = inherited(block, `${prefix}_ciphers`)[0]?.args[0] ?? 'DEFAULT';
  try {
    const context = createSecureContext({
      cert: pairs.cert,
      key: pairs.key,
      // Always a list, even empty: without one Node would trust its bundled public CAs.
      ca: trusted === '' ? [] : verifyLocations(trusted),
      crl: crl === '' ? undefined : crlList(crl),
      minVersion: versions.minVersion,
      maxVersion: versions.maxVersion,
      secureOptions: versions.off | (tickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
      ciphers,
      ...commands,
    });
    return {
      context,
      verify,
      verifyDepth: value('verify_depth', 1),
      name: inherited(block, `${prefix}_name`)[0]?.args[0],
      serverName: value('server_name', false),
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
 * Why the server's certificate is refused after the handshake (`who` is nginx's word for it:
 * `upstream`, `peer`), or null when it passes: the chain, then the name.
 */
export function certificateFailure(
  socket: TLSSocket,
  tls: ClientTls,
  name: string,
  who: string,
): string | null {
  const { cert, error } = verifyResultOf(socket, true, tls.verifyDepth);
  if (cert === null) return `${who} sent no SSL certificate`;
  if (error !== null) return `${who} SSL certificate verify error: (${error[0]}:${error[1]})`;
  const matches = isIP(name) !== 0 ? cert.checkIP(name) : cert.checkHost(name);
  return matches === undefined ? `${who} SSL certificate does not match "${name}"` : null;
}
