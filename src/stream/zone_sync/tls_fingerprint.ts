// What a zone_sync server's TLS is made of, for deciding on reload whether its peer connections
// may stay up: the sync listener's `ssl_*` lines and the bytes of every file the TLS directives
// name. A certificate renewed or a CRL replaced at the same path changes it, and the connections
// are then made anew (as nginx's reload does with all of them), so a revoked peer is cut off.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inherited } from '../../config/tree.ts';
import { sslServerDirectives } from '../../http/modules/ssl.ts';
import type { StreamServer } from '../types.ts';

const LISTENER_DIRECTIVES = sslServerDirectives(['stream', 'stream_server']).map((d) => d.name);
const FILE_DIRECTIVES = [
  'certificate',
  'certificate_key',
  'password_file',
  'client_certificate',
  'trusted_certificate',
  'crl',
  'dhparam',
];
const NAMES = [...LISTENER_DIRECTIVES, ...FILE_DIRECTIVES.map((f) => `zone_sync_ssl_${f}`)];
const IS_FILE = new RegExp(`ssl_(${FILE_DIRECTIVES.join('|')})$`);

/** The server's TLS lines with their files' SHA-256, one per line. */
export function tlsFingerprint(srv: StreamServer): string {
  const lines: string[] = [];
  for (const name of NAMES) {
    for (const e of inherited(srv.block, name)) {
      const file = IS_FILE.test(name) && typeof e.value === 'string' ? ` ${digest(e.value)}` : '';
      lines.push(`${name} ${e.args.join(' ')}${file}`);
    }
  }
  return lines.join('\n');
}

function digest(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    // the build reports an unreadable file; here it only has to differ from a readable one
    return 'unreadable';
  }
}
