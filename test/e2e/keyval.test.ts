// keyval through a real bin/zonesync: the variable as a routing table, every API method with Plus's
// statuses and errors, type=ip networks, expiry, the state file across a restart, and reloads.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Instance, type Response, runZonesync, startZonesync, waitFor } from '../helpers/instance.ts';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'keyval-e2e-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

const conf = (zones: string, text = '$v', locations = '') => `
events {}
http {
  access_log off;
  ${zones}
  keyval $arg_k $v zone=one;
  server {
    listen 127.0.0.1:{{PORT}};
    location / { return 200 "${text}"; }
    ${locations}
    location /api { api write=on; }
    location /ro { api; }
  }
}`;

const ZONES = `
  keyval_zone zone=one:64k;
  keyval_zone zone=timed:64k timeout=1h;
  keyval_zone zone=nets:64k type=ip;
  keyval_zone zone=tiny:32k;
  keyval $remote_addr $net zone=nets;
  keyval $arg_t $t zone=timed;
  keyval $arg_x $x zone=tiny;`;

const API = '/api/9/http/keyvals';

async function call(z: Instance, method: string, uri: string, body?: unknown): Promise<Response> {
  return z.request(uri, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function expectError(res: Response, status: number, code: string, text?: string) {
  assert.equal(res.status, status, res.text);
  const { error } = JSON.parse(res.text) as { error: { status: number; code: string; text: string } };
  assert.equal(error.code, code);
  if (text !== undefined) assert.equal(error.text, text);
}

describe('keyval API and variables', () => {
  let z: Instance;
  before(async () => {
    z = await startZonesync({ conf: conf(ZONES, '$v', 'location /ip { return 200 "$net"; }') });
  });
  after(async () => {
    await z?.stop();
  });

  it('routes by the zone: a key the API adds is the variable at once', async () => {
    assert.equal((await z.request('/?k=a')).text, '');
    assert.equal((await call(z, 'POST', `${API}/one`, { a: 'backend-a' })).status, 201);
    assert.equal((await z.request('/?k=a')).text, 'backend-a');
    assert.equal((await z.request('/?k=A')).text, '', 'string zones match exactly');
  });

  it('GET lists zones, one zone, one key; ?fields= empty leaves the names', async () => {
    const all = JSON.parse((await z.request(`${API}/`)).text);
    assert.deepEqual(Object.keys(all).sort(), ['nets', 'one', 'timed', 'tiny']);
    assert.equal(all.one.a, 'backend-a');
    assert.deepEqual(JSON.parse((await z.request(`${API}/one?key=a`)).text), { a: 'backend-a' });
    await expectError(await z.request(`${API}/one?key=zz`), 404, 'KeyvalKeyNotFound', 'key "zz" not found');
    await expectError(await z.request(`${API}/nope`), 404, 'KeyvalNotFound');
    const names = JSON.parse((await z.request(`${API}/?fields=`)).text);
    assert.deepEqual(names.one, {});
  });

  it('POST: 409 for an existing key; several keys only into an empty zone; numbers become text', async () => {
    await expectError(
      await call(z, 'POST', `${API}/one`, { a: 'x' }),
      409,
      'KeyvalKeyExists',
      'key "a" already exists',
    );
    await expectError(
      await call(z, 'POST', `${API}/one`, { b: '1', c: '2' }),
      400,
      'KeyvalFormatError',
      'only one key can be added',
    );
    await expectError(await call(z, 'POST', `${API}/one`, {}), 400, 'KeyvalFormatError', 'key required');
    await expectError(await call(z, 'POST', `${API}/one`, { b: ['x'] }), 400, 'KeyvalFormatError');
    await expectError(
      await call(z, 'POST', `${API}/one`, { b: { value: 'x', expire: 100 } }),
      400,
      'KeyvalFormatError',
      'keyval timeout is not enabled',
    );
    await expectError(await call(z, 'POST', `${API}/one`, '{"b": '), 415, 'JsonError');
    await expectError(await call(z, 'POST', `${API}/nope`, { b: '1' }), 404, 'KeyvalNotFound');
    assert.equal((await call(z, 'POST', `${API}/one`, { n: 1 })).status, 201);
    assert.equal((await z.request('/?k=n')).text, '1');
    assert.equal((await call(z, 'POST', `${API}/timed`, { p: '1', q: '2' })).status, 201, 'empty zone: bulk');
  });

  it('PATCH changes one key, null deletes it, a missing key is 404', async () => {
    assert.equal((await call(z, 'PATCH', `${API}/one`, { a: 'backend-b' })).status, 204);
    assert.equal((await z.request('/?k=a')).text, 'backend-b');
    await expectError(
      await call(z, 'PATCH', `${API}/one`, { a: '1', n: '2' }),
      400,
      'KeyvalFormatError',
      'only one key can be updated',
    );
    await expectError(await call(z, 'PATCH', `${API}/one`, { missing: 'x' }), 404, 'KeyvalKeyNotFound');
    assert.equal((await call(z, 'PATCH', `${API}/one`, { n: null })).status, 204);
    assert.equal((await z.request('/?k=n')).text, '');
    await expectError(await call(z, 'PATCH', `${API}/one`, { n: null }), 404, 'KeyvalKeyNotFound');
  });

  it('write methods need write=on', async () => {
    for (const method of ['POST', 'PATCH', 'DELETE']) {
      await expectError(await call(z, method, `/ro/9/http/keyvals/one`, { a: '1' }), 405, 'MethodDisabled');
    }
    assert.equal((await z.request('/ro/9/http/keyvals/one?key=a')).status, 200);
  });

  it('expire (ms) in a zone with a timeout: the pair goes when it is due', async () => {
    assert.equal(
      (await call(z, 'POST', `${API}/timed`, { soon: { value: 'here', expire: 400 } })).status,
      201,
    );
    assert.equal((await z.request('/?t=soon')).text, '', 'the variable of zone one does not see zone timed');
    assert.equal((await z.request(`${API}/timed?key=soon`)).status, 200);
    assert.equal(
      (await call(z, 'PATCH', `${API}/timed`, { p: { expire: 400 } })).status,
      204,
      'expire alone',
    );
    await new Promise((r) => setTimeout(r, 600));
    await expectError(await z.request(`${API}/timed?key=soon`), 404, 'KeyvalKeyNotFound');
    await expectError(await z.request(`${API}/timed?key=p`), 404, 'KeyvalKeyNotFound');
    assert.deepEqual(JSON.parse((await z.request(`${API}/timed`)).text), { q: '2' });
  });

  it('type=ip: the longest network holding $remote_addr wins; keys must be addresses', async () => {
    assert.equal((await call(z, 'POST', `${API}/nets`, { '127.0.0.0/8': 'loopback' })).status, 201);
    assert.equal((await z.request('/ip')).text, 'loopback');
    assert.equal((await call(z, 'POST', `${API}/nets`, { '127.0.0.1': 'me' })).status, 201);
    assert.equal((await call(z, 'POST', `${API}/nets`, { '2001:db8::/32': 'six' })).status, 201);
    assert.equal((await z.request('/ip')).text, 'me');
    assert.equal((await call(z, 'PATCH', `${API}/nets`, { '127.0.0.1': null })).status, 204);
    assert.equal((await z.request('/ip')).text, 'loopback');
    await expectError(
      await call(z, 'POST', `${API}/nets`, { 'not-an-ip': '1' }),
      400,
      'KeyvalFormatError',
      'invalid key format',
    );
  });

  it('a full zone answers 507 KeyvalZoneFull and keeps every pair it had', async () => {
    const big = 'x'.repeat(2000);
    let n = 0;
    let res: Response;
    while ((res = await call(z, 'POST', `${API}/tiny`, { [`k${n}`]: big })).status === 201) n++;
    await expectError(res, 507, 'KeyvalZoneFull', 'keyval zone "tiny" is full');
    assert.ok(n > 3);
    const pairs = JSON.parse((await z.request(`${API}/tiny`)).text);
    assert.equal(Object.keys(pairs).length, n);
    assert.equal((await z.request('/?k=zzz')).status, 200);
  });

  it('DELETE empties the zone', async () => {
    assert.equal((await call(z, 'DELETE', `${API}/one`)).status, 204);
    assert.deepEqual(JSON.parse((await z.request(`${API}/one`)).text), {});
    await expectError(await call(z, 'DELETE', `${API}/nope`), 404, 'KeyvalNotFound');
  });

  it('/stream/keyvals/ answers, empty until a stream block exists', async () => {
    assert.deepEqual(JSON.parse((await z.request('/api/9/stream/keyvals/')).text), {});
    await expectError(await z.request('/api/9/stream/keyvals/one'), 404, 'KeyvalNotFound');
  });
});

describe('keyval_zone type=prefix and timeout', () => {
  let z: Instance;
  before(async () => {
    z = await startZonesync({
      conf: conf(
        `keyval_zone zone=one:64k;
  keyval_zone zone=pre:64k type=prefix;
  keyval_zone zone=short:64k timeout=1s;
  keyval $uri $route zone=pre;
  keyval $arg_s $s zone=short;`,
        '$v',
        'location /r/ { return 200 "[$route]"; } location /s { return 200 "[$s]"; }',
      ),
    });
  });
  after(async () => {
    await z?.stop();
  });

  it('type=prefix: the longest stored key the lookup key starts with wins', async () => {
    for (const pair of [{ '/r/': 'root' }, { '/r/api/v2/': 'v2' }, { '/r/api/': 'api' }]) {
      assert.equal((await call(z, 'POST', `${API}/pre`, pair)).status, 201);
    }
    assert.equal((await z.request('/r/api/v2/users')).text, '[v2]');
    assert.equal((await z.request('/r/api/v1/users')).text, '[api]');
    assert.equal((await z.request('/r/other')).text, '[root]');
    assert.equal((await call(z, 'PATCH', `${API}/pre`, { '/r/api/v2/': null })).status, 204);
    assert.equal((await z.request('/r/api/v2/users')).text, '[api]', 'the next longest, once it is gone');
  });

  it('timeout: a pair goes that long after it was written, reads do not keep it', async () => {
    assert.equal((await call(z, 'POST', `${API}/short`, { a: 'x' })).status, 201);
    assert.equal((await z.request('/s?s=a')).text, '[x]');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await z.request('/s?s=a')).text, '[x]', 'still there, and this read refreshes nothing');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await z.request('/s?s=a')).text, '[]');
    await expectError(await z.request(`${API}/short?key=a`), 404, 'KeyvalKeyNotFound');
  });
});

describe('keyval state file and reloads', () => {
  it('the state file keeps pairs across a restart', async () => {
    const file = path.join(stateDir, 'restart.json');
    const zones = `keyval_zone zone=one:64k state=${file};`;
    const first = await startZonesync({ conf: conf(zones) });
    try {
      assert.equal((await call(first, 'POST', `${API}/one`, { k: 'kept' })).status, 201);
    } finally {
      await first.stop();
    }
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { k: 'kept' }, 'written at exit at the latest');
    const second = await startZonesync({ conf: conf(zones) });
    try {
      assert.equal((await second.request('/?k=k')).text, 'kept');
      assert.equal((await call(second, 'PATCH', `${API}/one`, { k: 'changed' })).status, 204);
      await waitFor(() => readFileSync(file, 'utf8').includes('changed'), 10_000, 'the debounced write');
    } finally {
      await second.stop();
    }
  });

  it('a reload that makes the zone anew loads the state file, with the pairs written just before', async () => {
    const file = path.join(stateDir, 'resize.json');
    const z = await startZonesync({ conf: conf(`keyval_zone zone=one:64k state=${file};`) });
    try {
      await waitFor(() => /zonesync started/.test(z.errorLog()), 10_000, 'start');
      // Within the writer's one-second debounce: the file does not have it yet.
      assert.equal((await call(z, 'POST', `${API}/one`, { k: 'fresh' })).status, 201);
      z.writeConf(conf(`keyval_zone zone=one:128k state=${file};`, 'v2:$v'));
      z.signal('SIGHUP');
      await waitFor(async () => (await z.request('/?k=k')).text.startsWith('v2:'), 15_000, 'the new config');
      assert.equal((await z.request('/?k=k')).text, 'v2:fresh');
    } finally {
      await z.stop();
    }
  });

  it('a corrupt state file is moved aside and logged; the gateway starts with an empty zone', async () => {
    const file = path.join(stateDir, 'corrupt.json');
    writeFileSync(file, '{"k": "trunc');
    const z = await startZonesync({ conf: conf(`keyval_zone zone=one:64k state=${file};`) });
    try {
      assert.equal((await z.request('/?k=k')).text, '');
      assert.match(
        z.errorLog(),
        /\[error\] \d+#0: invalid keyval state file ".*corrupt\.json" \(.*\) in keyval zone "one", renamed to ".*corrupt\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z"/,
      );
      const aside = readdirSync(stateDir).filter((f) => f.startsWith('corrupt.json.corrupt-'));
      assert.equal(aside.length, 1);
      assert.equal(readFileSync(path.join(stateDir, aside[0]), 'utf8'), '{"k": "trunc');
      assert.equal(existsSync(file), false);
    } finally {
      await z.stop();
    }
  });

  it('a reload keeps the zone; one adding "sync" is refused naming the zone', async () => {
    const z = await startZonesync({ conf: conf('keyval_zone zone=one:64k timeout=1h;') });
    try {
      assert.equal((await call(z, 'POST', `${API}/one`, { k: 'survives' })).status, 201);
      z.writeConf(conf('keyval_zone zone=one:64k timeout=1h;', 'v2:$v'));
      z.signal('SIGHUP');
      await waitFor(async () => (await z.request('/?k=k')).text === 'v2:survives', 15_000, 'the new config');
      z.writeConf(conf('keyval_zone zone=one:64k timeout=1h sync;', 'v3:$v'));
      z.signal('SIGHUP');
      await waitFor(() => /\[emerg\].*"sync"/.test(z.errorLog()), 15_000, 'the refusal');
      assert.match(
        z.errorLog(),
        /\[emerg\] \d+#0: the "sync" parameter cannot be added to the existing zone "one"; .* in .*zonesync\.conf:\d+/,
      );
      assert.equal((await z.request('/?k=k')).text, 'v2:survives', 'the old configuration keeps serving');
    } finally {
      await z.stop();
    }
  });
});

it('a reload that changes the size starts the zone afresh; one removing "sync" is refused', async () => {
  const z = await startZonesync({ conf: conf('keyval_zone zone=one:64k timeout=1h sync;') });
  try {
    await waitFor(() => /zonesync started/.test(z.errorLog()), 10_000, 'start');
    assert.equal((await call(z, 'POST', `${API}/one`, { k: 'old' })).status, 201);
    z.writeConf(conf('keyval_zone zone=one:64k timeout=1h;', 'v2:$v'));
    z.signal('SIGHUP');
    await waitFor(() => /\[emerg\].*"sync"/.test(z.errorLog()), 15_000, 'the refusal');
    assert.match(
      z.errorLog(),
      /\[emerg\] \d+#0: the "sync" parameter cannot be removed from the existing zone "one"; remove the zone's directive, reload, then add it back without "sync" and reload again in /,
    );
    assert.equal((await z.request('/?k=k')).text, 'old', 'the old configuration keeps serving');
    z.writeConf(conf('keyval_zone zone=one:128k timeout=1h;', 'v3:$v'));
    z.signal('SIGHUP');
    await waitFor(async () => (await z.request('/?k=k')).text.startsWith('v3:'), 15_000, 'the new config');
    assert.equal((await z.request('/?k=k')).text, 'v3:', 'another size: a new, empty zone');
  } finally {
    await z.stop();
  }
});

it('-t refuses a duplicate zone, a zone nobody sizes and a duplicate variable', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-keyval-'));
  mkdirSync(path.join(dir, 'conf'));
  mkdirSync(path.join(dir, 'logs'));
  const file = path.join(dir, 'conf/zonesync.conf');
  for (const [lines, message] of [
    ['keyval_zone zone=a:64k; keyval_zone zone=a:64k;', `duplicate zone "a" in ${file}:3`],
    ['keyval $arg_k $v zone=b;', 'zero size shared memory zone "b"'],
    [
      'keyval_zone zone=a:64k; keyval $arg_k $v zone=a; keyval $arg_j $v zone=a;',
      `the duplicate "v" variable in ${file}:3`,
    ],
    ['keyval_zone zone=a:64k; keyval $arg_k $host zone=a;', `the duplicate "host" variable in ${file}:3`],
  ]) {
    writeFileSync(file, `events {}\nhttp {\n  ${lines}\n}\n`);
    const r = await runZonesync(['-p', dir, '-t']);
    assert.equal(r.code, 1, lines);
    assert.ok(r.stderr.includes(`[emerg] ${message}`), r.stderr);
  }
  rmSync(dir, { recursive: true, force: true });
});
