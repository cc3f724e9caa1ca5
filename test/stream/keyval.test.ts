// ngx_stream_keyval_module through whole cycles: `keyval_zone` and `keyval` in `stream`, their
// variables in a stream `return`, matching by the zone's type, the zones' reload rules, and the
// errors (a stream zone is not an http zone: nginx's shared memory tags differ).
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config/types.ts';
import { type Cycle, loadCycle } from '../../src/core/cycle.ts';
import type { StreamSession } from '../../src/stream/types.ts';
import { makePrefix } from '../helpers/nginx_oracle.ts';

const cycles: Cycle[] = [];
after(() => {
  for (const c of cycles) c.log.close();
});

function load(conf: string, previous?: Cycle): Cycle {
  const prefix = makePrefix({
    'conf/zonesync.conf': `error_log stderr;\nevents {}\n${conf}`,
    'logs/.keep': '',
  });
  const cycle = loadCycle({ confFile: `${prefix}conf/zonesync.conf`, prefix }, previous);
  cycles.push(cycle);
  return cycle;
}

function errorOf(conf: string, previous?: Cycle): string {
  try {
    load(conf, previous);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.text.replace(/ in \/.*$/, '');
  }
}

/** What the stream server on `port` sends to a client at `remote`. */
function answer(cycle: Cycle, port: number, remote = '127.0.0.1'): string {
  const srv = cycle.stream!.servers.find((s) => s.listens.some((l) => l.port === port))!;
  let sent = '';
  const socket = { on: () => socket, end: (text: string) => (sent = text) } as unknown as Socket;
  const session = {
    id: 7,
    remoteAddress: remote,
    remotePort: 40000,
    localAddress: '127.0.0.1',
    localPort: port,
    server: srv,
    clientCertificate: null,
    tls: false,
    log: () => {},
  } satisfies StreamSession;
  srv.handler!(socket, session);
  return sent;
}

const put = (cycle: Cycle, zone: string, key: string, value: string) =>
  assert.equal(cycle.zones.get(zone)!.set(key, new TextEncoder().encode(value)), 'ok');

const STREAM = `
stream {
  keyval_zone zone=greet:64k;
  keyval_zone zone=nets:64k type=ip;
  keyval_zone zone=pre:64k type=prefix;
  keyval $server_port $greeting zone=greet;
  keyval $remote_addr $who zone=nets;
  keyval "p/$server_port/x" $route zone=pre;
  server { listen 127.0.0.1:9101; return "[$greeting][$who][$route]"; }
  server { listen 127.0.0.1:9102; return "[$greeting][$who][$route]"; }
}`;

test('stream keyval variables find their pairs by the zone type, per connection', () => {
  const cycle = load(STREAM);
  assert.equal(cycle.zones.get('greet')?.type.name, 'stream_keyval');
  assert.equal(answer(cycle, 9101), '[][][]', 'no pairs: empty values');
  put(cycle, 'greet', '9101', 'hello');
  put(cycle, 'nets', '127.0.0.0/8', 'loopback');
  put(cycle, 'nets', '127.0.0.1', 'me');
  put(cycle, 'pre', 'p/', 'short');
  put(cycle, 'pre', 'p/9101/', 'long');
  assert.equal(answer(cycle, 9101), '[hello][me][long]');
  assert.equal(answer(cycle, 9102, '127.0.0.2'), '[][loopback][short]');
  assert.equal(answer(cycle, 9102, '10.0.0.1'), '[][][short]');
  cycle.zones.get('nets')!.delete('127.0.0.1');
  assert.equal(answer(cycle, 9101), '[hello][loopback][long]', 'the next longest network');
});

test('a stream-only configuration has its keyval zones; http and stream zones coexist', () => {
  const cycle = load(`${STREAM}\nhttp { keyval_zone zone=web:64k; keyval $arg_k $v zone=web; }`);
  assert.deepEqual([...cycle.zones].map((z) => `${z.name}:${z.type.name}`).sort(), [
    'greet:stream_keyval',
    'nets:stream_keyval',
    'pre:stream_keyval',
    'web:keyval',
  ]);
});

test("nginx's errors in stream", () => {
  const server = 'server { listen 127.0.0.1:9101; return ok; }';
  const cases: [string, string][] = [
    [`stream { keyval_zone zone=a:64k; keyval_zone zone=a:64k; ${server} }`, 'duplicate zone "a"'],
    [`stream { keyval $remote_addr $v zone=b; ${server} }`, 'zero size shared memory zone "b"'],
    [
      `stream { keyval_zone zone=a:64k; keyval $remote_addr $v zone=a; keyval $server_port $v zone=a; ${server} }`,
      'the duplicate "v" variable',
    ],
    [
      `stream { keyval_zone zone=a:64k; keyval $remote_addr $remote_port zone=a; ${server} }`,
      'the duplicate "remote_port" variable',
    ],
    [`stream { keyval_zone zone=a:64k; keyval $arg_k $v zone=a; ${server} }`, 'unknown "arg_k" variable'],
    [
      `stream { keyval_zone zone=a:64k sync; ${server} }`,
      '"keyval_zone" with "sync" must have "timeout" parameter',
    ],
    [
      `stream { keyval_zone zone=a:64k; ${server} } http { keyval_zone zone=a:64k; }`,
      'the shared memory zone "a" is already declared for a different use',
    ],
  ];
  for (const [conf, expected] of cases) assert.equal(errorOf(conf), expected, conf);
});

test('reloads: a stream zone is carried over with its pairs; adding "sync" is refused', () => {
  const zone = (extra = '') => `
stream {
  keyval_zone zone=greet:64k timeout=1h ${extra};
  keyval $server_port $greeting zone=greet;
  server { listen 127.0.0.1:9101; return "$greeting"; }
}`;
  const first = load(zone());
  put(first, 'greet', '9101', 'kept');
  const second = load(zone(), first);
  assert.equal(second.zones.get('greet'), first.zones.get('greet'));
  assert.equal(answer(second, 9101), 'kept');
  assert.equal(
    errorOf(zone('sync'), second),
    'the "sync" parameter cannot be added to the existing zone "greet"; remove the zone\'s directive, reload, then add it back with "sync" and reload again',
  );
  const resized = load(zone().replace('64k', '128k'), second);
  assert.equal(answer(resized, 9101), '', 'another size: a new, empty zone');
});
