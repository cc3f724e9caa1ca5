import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../../src/config/parser.ts';
import type { ConfBlock, DirectiveSpec } from '../../../src/config/types.ts';
import { ConfigError } from '../../../src/config/types.ts';
import { CycleZones } from '../../../src/core/cycle_zones.ts';
import { ErrorLog } from '../../../src/core/error_log.ts';
import { basicAuthUser, logModule, releaseCycle } from '../../../src/http/modules/log.ts';
import { closeAll, LogFile, reopenAll } from '../../../src/http/modules/log_file.ts';
import {
  compileFormat,
  escapeDefault,
  escapeJson,
  parseFormat,
} from '../../../src/http/modules/log_format.ts';
import type { BuildContext, HttpRequest, LocationConf, PhaseHandler } from '../../../src/http/types.ts';
import { httpCoreVariables } from '../../../src/variables/http_core.ts';
import { VariableRegistry } from '../../../src/variables/registry.ts';

/** A fresh temporary prefix (trailing slash) with `nginx.conf` when given, and a logs/ directory. */
function makePrefix(conf?: string): string {
  const dir = `${mkdtempSync(join(tmpdir(), 'zonesync-log-'))}/`;
  mkdirSync(`${dir}logs`);
  if (conf !== undefined) writeFileSync(`${dir}nginx.conf`, conf);
  return dir;
}

/** Just enough of a request for the variables the tests log. */
function fakeRequest(fields: { headers?: Record<string, string>; status?: number } = {}): HttpRequest {
  const headers = fields.headers ?? {};
  return {
    status: fields.status ?? 200,
    bodyBytesSent: 2,
    startTime: performance.timeOrigin + performance.now(),
    parsed: {
      version: 11,
      requestLine: 'GET /a?b HTTP/1.1',
      names: Object.keys(headers),
      values: Object.values(headers),
    },
    conn: { remoteAddress: '127.0.0.1' },
    header: (name: string) => headers[name],
    logError: () => {},
  } as unknown as HttpRequest;
}

function registry(): VariableRegistry {
  const v = new VariableRegistry();
  for (const def of [...httpCoreVariables, ...(logModule.variables ?? [])]) v.add(def);
  return v;
}

const BLOCKS: DirectiveSpec[] = [
  { name: 'http', contexts: ['main'], args: [0], block: 'http' },
  { name: 'server', contexts: ['http'], args: [0], block: 'server', multiple: true },
  { name: 'location', contexts: ['server', 'location'], args: [1], block: 'location', multiple: true },
];

interface Built {
  prefix: string;
  http: ConfBlock;
  /** The log-phase handlers of a location (by its argument; '' for the server itself). */
  handlers(location: string): PhaseHandler[];
  /** Log one request through a location's handlers. */
  log(location: string, r: HttpRequest): void;
  read(file?: string): string;
}

function build(conf: string): Built {
  const prefix = makePrefix(conf);
  const { main } = parseConfig({
    file: 'nginx.conf',
    prefix,
    directives: [...BLOCKS, ...logModule.directives],
  });
  const http = main.entries.find((e) => e.name === 'http')!.block!;
  const log = new ErrorLog([]);
  const cx: BuildContext = {
    variables: registry(),
    log,
    zones: new CycleZones(undefined, log),
    prefix,
    resolvePath: (p) => (p.startsWith('/') ? p : prefix + p),
  };
  logModule.http!.init!(http, cx);
  const server = http.entries.find((e) => e.name === 'server')!.block!;
  const blockOf = (name: string) =>
    name === '' ? server : server.entries.find((e) => e.name === 'location' && e.args[0] === name)!.block!;
  return {
    prefix,
    http,
    handlers(name) {
      const loc = { block: blockOf(name) } as LocationConf;
      return (logModule.http!.location!(loc, cx) ?? []).map((h) => h.handler);
    },
    log(name, r) {
      for (const h of this.handlers(name)) void h(r);
    },
    read(file = 'logs/access.log') {
      closeAll();
      try {
        return readFileSync(prefix + file, 'latin1');
      } catch {
        return '';
      }
    },
  };
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'ok';
}

afterEach(() => closeAll());

describe('log_format parsing', () => {
  it('splits literals and variables, merging adjacent literals across arguments', () => {
    const f = parseFormat('x', ['a $b ', '$' + '{c}d', '$e-f']);
    assert.deepEqual(f.parts, [
      'a ',
      { variable: 'b' },
      ' ',
      { variable: 'c' },
      'd',
      { variable: 'e' },
      '-f',
    ]);
    assert.equal(f.escape, 'default');
    assert.equal(parseFormat('x', ['escape=json', '$a']).escape, 'json');
  });

  it("reports nginx's errors", () => {
    assert.equal(
      configError(() => parseFormat('x', ['escape=xml', '$a'])),
      'unknown log format escaping "xml"',
    );
    assert.equal(
      configError(() => parseFormat('x', ['a $'])),
      'invalid parameter "$"',
    );
    assert.equal(
      configError(() => parseFormat('x', ['a ${'])),
      'invalid parameter "${"',
    );
    assert.equal(
      configError(() => parseFormat('x', ['$-x y'])),
      'invalid parameter "$-x y"',
    );
    assert.equal(
      configError(() => parseFormat('x', ['$' + '{ab c}'])),
      'the closing bracket in "ab" variable is missing',
    );
  });
});

describe('escaping', () => {
  it('default: quote, backslash, controls and bytes from 0x7f as \\xHH', () => {
    assert.equal(escapeDefault('plain text/1?a=b'), 'plain text/1?a=b');
    assert.equal(escapeDefault('a"b\\c\n\x7f\xe9'), 'a\\x22b\\x5Cc\\x0A\\x7F\\xE9');
    assert.equal(escapeDefault('\u20ac'), '\\xE2\\x82\\xAC');
  });

  it('json: backslashed quote and backslash, short control escapes, \\u00XX for the rest', () => {
    assert.equal(escapeJson('a"b\\c'), 'a\\"b\\\\c');
    assert.equal(escapeJson('\n\r\t\b\f\x01\x1f'), '\\n\\r\\t\\b\\f\\u0001\\u001F');
    assert.equal(escapeJson('\x7f\xe9'), '\x7f\xe9');
  });

  it('unset variables: "-" by default, empty with json and none; literals never escaped', () => {
    const get = (name: string) => (name === 'set' ? () => 'q"' : () => undefined);
    const r = fakeRequest();
    assert.equal(compileFormat(parseFormat('d', ['"$set" $unset "']), get)(r), '"q\\x22" - "');
    assert.equal(compileFormat(parseFormat('j', ['escape=json', '"$set" $unset']), get)(r), '"q\\"" ');
    assert.equal(compileFormat(parseFormat('n', ['escape=none', '"$set" $unset']), get)(r), '"q"" ');
  });
});

describe('$remote_user', () => {
  it('decodes the user of Basic authorization as nginx does', () => {
    const user = (auth?: string) =>
      basicAuthUser(fakeRequest({ headers: auth ? { authorization: auth } : {} }));
    assert.equal(user(`Basic ${Buffer.from('alice:secret').toString('base64')}`), 'alice');
    assert.equal(user(`basic   ${Buffer.from('bob:').toString('base64')}`), 'bob');
    assert.equal(user(`Basic ${Buffer.from(':pw').toString('base64')}`), undefined);
    assert.equal(user(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
    assert.equal(user('Basic !!!'), undefined);
    assert.equal(user('Bearer abc'), undefined);
    assert.equal(user(undefined), undefined);
  });
});

describe('access_log directive', () => {
  const parse = (args: string[]) => {
    const spec = logModule.directives.find((d) => d.name === 'access_log')!;
    return configError(() => spec.parse!({ name: 'access_log', args, file: 'f', line: 1 }, {} as never));
  };

  it('checks parameters as nginx does', () => {
    assert.equal(parse(['off', 'x']), 'invalid parameter "x"');
    assert.equal(parse(['a.log', 'combined', 'buffer=0']), 'invalid buffer size "0"');
    assert.equal(parse(['a.log', 'combined', 'flush=x']), 'invalid flush time "x"');
    assert.equal(parse(['a.log', 'combined', 'gzip=10']), 'invalid compression level "10"');
    assert.equal(parse(['a.log', 'combined', 'flush=1s']), 'no buffer is defined for access_log "a.log"');
    assert.equal(
      parse(['$host.log', 'combined', 'buffer=1k']),
      'buffered logs cannot have variables in name',
    );
    assert.equal(parse(['a.log', 'combined', 'bogus']), 'invalid parameter "bogus"');
    assert.match(parse(['syslog:server=127.0.0.1']), /syslog is not supported/);
    assert.equal(parse(['a.log', 'main', 'buffer=32k', 'gzip', 'flush=5s', 'if=$x']), 'ok');
  });
});

describe('cycle build and logging', () => {
  const server = (body: string) =>
    `http { ${body} server { location /a { } location /off { access_log off; } } }`;

  it('writes the default combined line to logs/access.log', async () => {
    const b = build(server(''));
    const r = fakeRequest({ headers: { 'user-agent': 'curl "x"' } });
    b.log('/a', r);
    b.log('', r);
    const lines = b.read().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/a\?b HTTP\/1\.1" 200 2 "-" "curl \\x22x\\x22"$/,
    );
  });

  it('inherits access_log from the nearest level, and off wins at its level', () => {
    const b = build(
      'http { log_format f "$status:$remote_user"; access_log logs/h.log f; ' +
        'server { location /a { access_log logs/l.log f; access_log logs/m.log f; } location /b { } ' +
        'location /off { access_log off; access_log logs/l.log; } } }',
    );
    const r = fakeRequest({ status: 404 });
    b.log('/a', r);
    b.log('/b', r);
    b.log('/off', r);
    assert.equal(b.read('logs/h.log'), '404:-\n');
    assert.equal(b.read('logs/l.log'), '404:-\n');
    assert.equal(b.read('logs/m.log'), '404:-\n');
    assert.equal(b.read('logs/access.log'), '');
  });

  it('skips a log whose if= is empty or "0"', () => {
    const b = build('http { log_format f $http_x; access_log logs/f.log f if=$http_x; server { } }');
    for (const x of ['', '0', '1', 'yes']) b.log('', fakeRequest({ headers: x ? { x } : {} }));
    assert.equal(b.read('logs/f.log'), '1\nyes\n');
  });

  it('opens per-request files for paths with variables', () => {
    const b = build('http { log_format f $status; access_log logs/v-$http_x.log f; server { } }');
    b.log('', fakeRequest({ headers: { x: 'one' } }));
    b.log('', fakeRequest({ headers: { x: 'two' }, status: 500 }));
    assert.equal(b.read('logs/v-one.log'), '200\n');
    assert.equal(b.read('logs/v-two.log'), '500\n');
  });

  it("reports nginx's configuration errors", () => {
    assert.equal(
      configError(() => build('http { log_format combined $status; server { } }')),
      'duplicate "log_format" name "combined"',
    );
    assert.equal(
      configError(() => build('http { access_log logs/x.log later; log_format later $status; server { } }')),
      'unknown log format "later"',
    );
    assert.equal(
      configError(() => build('http { log_format f $nosuch; server { } }')),
      'unknown "nosuch" variable',
    );
    assert.equal(
      configError(() =>
        build(
          'http { access_log logs/x.log combined buffer=1k; server { access_log logs/x.log combined buffer=2k; } }',
        ),
      ),
      'access_log "logs/x.log" already defined with conflicting parameters',
    );
    assert.match(
      configError(() => build('http { access_log nodir/x.log; server { } }')),
      /^open\(\) ".*nodir\/x\.log" failed \(2: No such file or directory\)$/,
    );
    // Formats are found case-insensitively.
    assert.equal(
      configError(() => build('http { access_log logs/x.log COMBINED; server { } }')),
      'ok',
    );
  });

  it('releases a cycle: its files close, late lines are still appended', () => {
    const b = build('http { log_format f $status; access_log logs/r.log f; server { } }');
    const handlers = b.handlers('');
    releaseCycle(b.http);
    for (const h of handlers) void h(fakeRequest());
    assert.equal(b.read('logs/r.log'), '200\n');
  });
});

describe('LogFile', () => {
  it('batches unbuffered lines into one write per event-loop turn', async () => {
    const dir = makePrefix();
    const f = new LogFile(`${dir}a.log`, null);
    f.open();
    f.append('1\n');
    f.append('2\n');
    assert.equal(readFileSync(`${dir}a.log`, 'latin1'), '');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(readFileSync(`${dir}a.log`, 'latin1'), '1\n2\n');
    f.close();
  });

  it('buffers up to size, flushes when full and on flush= expiry', async () => {
    const dir = makePrefix();
    const f = new LogFile(`${dir}b.log`, null);
    f.open();
    const owner = {};
    assert.ok(f.setBuffer(owner, { size: 8, flush: 50, gzip: 0 }));
    f.append('abc\n');
    f.append('def\n');
    assert.equal(readFileSync(`${dir}b.log`, 'latin1'), '');
    f.append('ghi\n');
    assert.equal(readFileSync(`${dir}b.log`, 'latin1'), 'abc\ndef\n');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(readFileSync(`${dir}b.log`, 'latin1'), 'abc\ndef\nghi\n');
    assert.equal(f.setBuffer(owner, { size: 16, flush: 50, gzip: 0 }), false);
    f.close();
  });

  it('writes each flushed buffer as a gzip member', () => {
    const dir = makePrefix();
    const f = new LogFile(`${dir}c.log.gz`, null);
    f.open();
    f.setBuffer({}, { size: 1024, flush: 0, gzip: 1 });
    f.append('one\n');
    f.flush();
    f.append('two\n');
    f.close();
    assert.equal(gunzipSync(readFileSync(`${dir}c.log.gz`)).toString(), 'one\ntwo\n');
  });

  it('reopens after rotation: buffered lines go to the old file, new ones to the new', () => {
    const b = build('http { log_format f $status; access_log logs/z.log f buffer=4k; server { } }');
    b.log('', fakeRequest({ status: 201 }));
    renameSync(`${b.prefix}logs/z.log`, `${b.prefix}logs/z.log.1`);
    reopenAll();
    b.log('', fakeRequest({ status: 202 }));
    assert.equal(b.read('logs/z.log'), '202\n');
    assert.equal(readFileSync(`${b.prefix}logs/z.log.1`, 'latin1'), '201\n');
  });
});
