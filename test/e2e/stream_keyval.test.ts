// ngx_stream_keyval_module through a real bin/zonesync: pairs written through `/stream/keyvals/`
// are the variables of a stream `return` at once (string, ip and prefix zones), `timeout` expires
// them, `state=` keeps them across a restart (an unreadable file is moved aside), and reloads
// carry a zone over or refuse a `sync` change, naming the zone.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Instance, rawExchange, startZonesync, waitFor } from '../helpers/instance.ts';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'stream-keyval-e2e-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

const API = '/api/9/stream/keyvals';

const conf = (zones: string, text = '[$greeting][$who][$route]') => `
events {}
stream {
  ${zones}
  server { listen 127.0.0.1:{{PORT1}}; return "${text}"; }
}
http {
  access_log off;
  server { listen 127.0.0.1:{{PORT}}; location /api { api write=on; } }
}`;

const ZONES = `
  keyval_zone zone=greet:64k;
  keyval_zone zone=nets:64k type=ip;
  keyval_zone zone=pre:64k type=prefix;
  keyval_zone zone=short:64k timeout=1s;
  keyval $server_port $greeting zone=greet;
  keyval $remote_addr $who zone=nets;
  keyval "p/$server_port/x" $route zone=pre;
  keyval $remote_addr $brief zone=short;`;

/** What the stream server sends a client before it closes the connection. */
const read = async (z: Instance) => (await rawExchange(z.ports[1], '', '127.0.0.1', 3000)).toString();

const post = (z: Instance, zone: string, body: unknown) =>
  z.request(`${API}/${zone}`, { method: 'POST', body: JSON.stringify(body) });

async function started(z: Instance): Promise<Instance> {
  await waitFor(() => /zonesync started/.test(z.errorLog()), 10_000, 'start');
  return z;
}

describe('stream keyval variables and the /stream/keyvals/ API', () => {
  let z: Instance;
  before(async () => {
    z = await started(await startZonesync({ conf: conf(ZONES) }));
  });
  after(async () => {
    await z?.stop();
  });

  it('lists the stream zones, not the http ones', async () => {
    const all = JSON.parse((await z.request(`${API}/`)).text);
    assert.deepEqual(Object.keys(all).sort(), ['greet', 'nets', 'pre', 'short']);
    assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/')).text), {});
  });

  it('a pair the API adds is the variable of the next connection, by the zone type', async () => {
    assert.equal(await read(z), '[][][]');
    const port = String(z.ports[1]);
    assert.equal((await post(z, 'greet', { [port]: 'hello' })).status, 201);
    assert.equal((await post(z, 'nets', { '127.0.0.0/8': 'loopback' })).status, 201);
    assert.equal((await post(z, 'pre', { 'p/': 'short' })).status, 201);
    assert.equal(await read(z), '[hello][loopback][short]');
    assert.equal((await post(z, 'nets', { '127.0.0.1': 'me' })).status, 201);
    assert.equal((await post(z, 'pre', { [`p/${port}/`]: 'long' })).status, 201);
    assert.equal(await read(z), '[hello][me][long]', 'the longest match wins');
    const res = await post(z, 'nets', { 'not-an-ip': '1' });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).error.code, 'KeyvalFormatError');
  });

  it('timeout removes a pair that long after it was written', async () => {
    assert.equal((await post(z, 'short', { '127.0.0.1': 'x' })).status, 201);
    assert.deepEqual(JSON.parse((await z.request(`${API}/short`)).text), { '127.0.0.1': 'x' });
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(JSON.parse((await z.request(`${API}/short`)).text), {});
  });
});

describe('stream keyval state file and reloads', () => {
  it('the state file keeps pairs across a restart', async () => {
    const file = path.join(stateDir, 'restart.json');
    const zones = `keyval_zone zone=greet:64k state=${file}; keyval site $greeting zone=greet;`;
    const first = await started(await startZonesync({ conf: conf(zones, '$greeting') }));
    try {
      assert.equal((await post(first, 'greet', { site: 'kept' })).status, 201);
    } finally {
      await first.stop();
    }
    assert.deepEqual(
      JSON.parse(readFileSync(file, 'utf8')),
      { site: 'kept' },
      'written at exit at the latest',
    );
    const second = await started(await startZonesync({ conf: conf(zones, '$greeting') }));
    try {
      assert.equal(await read(second), 'kept');
    } finally {
      await second.stop();
    }
  });

  it('an unreadable state file is moved aside and logged; the zone starts empty', async () => {
    const file = path.join(stateDir, 'corrupt.json');
    writeFileSync(file, '[1, 2');
    const zones = `keyval_zone zone=greet:64k state=${file}; keyval $server_port $greeting zone=greet;`;
    const z = await started(await startZonesync({ conf: conf(zones, '$greeting') }));
    try {
      assert.equal(await read(z), '');
      assert.match(
        z.errorLog(),
        /\[error\] \d+#0: invalid keyval state file ".*corrupt\.json" \(.*\) in keyval zone "greet", renamed to/,
      );
      const aside = readdirSync(stateDir).filter((f) => f.startsWith('corrupt.json.corrupt-'));
      assert.equal(aside.length, 1);
      assert.equal(readFileSync(path.join(stateDir, aside[0]), 'utf8'), '[1, 2');
      assert.equal(existsSync(file), false);
    } finally {
      await z.stop();
    }
  });

  it('a reload keeps the zone; one adding "sync" is refused naming the zone, the old config serves', async () => {
    const zones = (extra: string) =>
      `keyval_zone zone=greet:64k timeout=1h ${extra}; keyval $server_port $greeting zone=greet;`;
    const z = await started(await startZonesync({ conf: conf(zones(''), 'v1:$greeting') }));
    try {
      assert.equal((await post(z, 'greet', { [String(z.ports[1])]: 'survives' })).status, 201);
      z.writeConf(conf(zones(''), 'v2:$greeting'));
      z.signal('SIGHUP');
      await waitFor(async () => (await read(z)) === 'v2:survives', 10_000, 'the new config');
      z.writeConf(conf(zones('sync'), 'v3:$greeting'));
      z.signal('SIGHUP');
      await waitFor(() => /\[emerg\].*"sync"/.test(z.errorLog()), 10_000, 'the refusal');
      assert.match(
        z.errorLog(),
        /\[emerg\] \d+#0: the "sync" parameter cannot be added to the existing zone "greet"; remove the zone's directive, reload, then add it back with "sync" and reload again in /,
      );
      assert.equal(await read(z), 'v2:survives', 'the old configuration keeps serving');
    } finally {
      await z.stop();
    }
  });
});
