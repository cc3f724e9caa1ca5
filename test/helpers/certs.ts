// Test PKI made with the `openssl` CLI at test time: a CA, server certificates for a.test and
// b.test, a client certificate, a revoked client certificate with the CA's CRL, and a client
// certificate from a CA nobody trusts. EC P-256 keys keep it to a few dozen milliseconds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  readonly dir: string;
  /** Absolute path of a file in `dir`. */
  file(name: string): string;
  read(name: string): string;
  /**
   * Issue `<name>.crt`/`<name>.key` for `cn` from the test CA (or `issuer`), with DNS SANs and
   * `serial` (hex); returns the serial as nginx prints it ($ssl_client_serial).
   */
  issue(name: string, cn: string, opts?: { serial?: string; dns?: string[]; issuer?: string }): string;
  /** Write the test CA's CRL, with every certificate revoked so far, to `file` (in `dir`). */
  crl(file: string): void;
  /** Revoke `<name>.crt` (issued by the test CA); crl() then lists it. */
  revoke(name: string): void;
}

// A configuration of our own, so nothing depends on the system's openssl.cnf. `openssl ca`
// needs its database (index.txt) and crlnumber file to revoke and to sign a CRL.
const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
crlnumber = crlnumber
certificate = ca.crt
private_key = ca.key
default_md = sha256
default_crl_days = 30
`;

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-pki-'));
  writeFileSync(path.join(dir, 'openssl.cnf'), OPENSSL_CNF);
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OPENSSL_CONF: path.join(dir, 'openssl.cnf') },
    });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const selfSigned = (name: string, cn: string) =>
    openssl(
      'req',
      '-config',
      'openssl.cnf',
      '-x509',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '3650',
      '-set_serial',
      '1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  selfSigned('ca', 'Zonesync Test CA');
  selfSigned('other-ca', 'Untrusted CA');

  const pki: TestPki = {
    dir,
    file: (name) => path.join(dir, name),
    read: (name) => readFileSync(path.join(dir, name), 'utf8'),
    crl: (file) => void openssl('ca', '-config', 'openssl.cnf', '-gencrl', '-out', file),
    revoke: (name) => void openssl('ca', '-config', 'openssl.cnf', '-revoke', `${name}.crt`),
    issue(name, cn, opts = {}) {
      const serial = opts.serial ?? '1000';
      const issuer = opts.issuer ?? 'ca';
      const san = (opts.dns ?? []).map((d) => `DNS:${d}`).join(',');
      openssl(
        'req',
        '-config',
        'openssl.cnf',
        '-x509',
        ...newKey,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-subj',
        `/O=Zonesync Test/CN=${cn}`,
        '-days',
        '30',
        '-set_serial',
        `0x${serial}`,
        '-CA',
        `${issuer}.crt`,
        '-CAkey',
        `${issuer}.key`,
        ...(san ? ['-addext', `subjectAltName=${san}`] : []),
      );
      return serial.toUpperCase().padStart(serial.length + (serial.length % 2), '0');
    },
  };
  pki.issue('a', 'a.test', { serial: '0A01', dns: ['a.test'] });
  pki.issue('b', 'b.test', { serial: '0B01', dns: ['b.test'] });
  pki.issue('client', 'client', { serial: '0C01' });
  pki.issue('revoked', 'revoked', { serial: '0C02' });
  pki.issue('stranger', 'stranger', { serial: '0D01', issuer: 'other-ca' });
  pki.revoke('revoked');
  pki.crl('crl.pem');
  return pki;
}
