// limit_req across SIGHUP: a zone keeps its states (a limited client stays limited), a changed size
// starts it afresh, a changed key or `sync` flag is refused in nginx's (and NGINX Plus's) words and
// the old configuration serves on, and the way round the refusal (remove, reload, add back) works.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

const conf = (zone: string, rate = '1r/m') => `
events {}
http {
  access_log off;
  limit_req_zone ${zone} rate=${rate};
  server {
    listen 127.0.0.1:{{PORT}};
    location / { limit_req zone=one; root html; }
  }
}`;

/** Reload with `text` and wait for one more line matching `expect` than the log had before. */
async function reload(z: Instance, text: string, expect: RegExp): Promise<void> {
  const global = new RegExp(expect.source, 'g');
  const count = () => z.errorLog().match(global)?.length ?? 0;
  const before = count();
  z.writeConf(text);
  z.signal('SIGHUP');
  await waitFor(() => count() > before, 5000, String(expect));
}

/** The configuration without any limit_req: the zone's directive removed. */
const withoutZone = `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    location / { root html; }
  }
}`;

async function withInstance(zone: string, run: (z: Instance) => Promise<void>): Promise<void> {
  const z = await startZonesync({ conf: conf(zone), files: { 'html/index.html': 'ok' } });
  try {
    assert.equal((await z.request('/')).status, 200);
    assert.equal((await z.request('/')).status, 503);
    await run(z);
  } finally {
    await z.stop();
  }
}

test('a reload keeps the zone: a client at its limit is still limited right after SIGHUP', async () => {
  await withInstance('$binary_remote_addr zone=one:1m', async (z) => {
    // A new rate is not stored in the zone: the states carry over.
    await reload(z, conf('$binary_remote_addr zone=one:1m', '2r/m'), /reconfiguring done/);
    assert.equal((await z.request('/')).status, 503);
  });
});

test('a reload that changes the key is refused; the old configuration keeps serving', async () => {
  await withInstance('$binary_remote_addr zone=one:1m', async (z) => {
    await reload(
      z,
      conf('$remote_addr zone=one:1m'),
      /\[emerg\] .*limit_req "one" uses the "\$remote_addr" key while previously it used the "\$binary_remote_addr" key/,
    );
    assert.equal((await z.request('/')).status, 503, 'still the old zone, still limited');
  });
});

test('a reload that adds or removes `sync` is refused, naming the zone', async () => {
  await withInstance('$binary_remote_addr zone=one:1m', async (z) => {
    await reload(
      z,
      conf('$binary_remote_addr zone=one:1m sync'),
      /\[emerg\] \d+#0: the "sync" parameter cannot be added to the existing zone "one"; remove the zone's directive, reload, then add it back with "sync" and reload again in .*zonesync\.conf:6\n/,
    );
    assert.equal((await z.request('/')).status, 503);
  });
  await withInstance('$binary_remote_addr zone=one:1m sync', async (z) => {
    await reload(
      z,
      conf('$binary_remote_addr zone=one:1m'),
      /\[emerg\] \d+#0: the "sync" parameter cannot be removed from the existing zone "one"; remove the zone's directive, reload, then add it back without "sync" and reload again in .*zonesync\.conf:6\n/,
    );
    assert.equal((await z.request('/')).status, 503);
  });
});

test('a reload that changes the size starts the zone afresh (a new key is then allowed too)', async () => {
  await withInstance('$binary_remote_addr zone=one:1m', async (z) => {
    await reload(z, conf('$remote_addr zone=one:2m'), /reconfiguring done/);
    assert.doesNotMatch(z.errorLog(), /\[emerg\]/);
    assert.equal((await z.request('/')).status, 200, 'a new, empty zone');
    assert.equal((await z.request('/')).status, 503);
  });
});

test('adding `sync` the documented way: remove the zone, reload, add it back with `sync`, reload', async () => {
  await withInstance('$binary_remote_addr zone=one:1m', async (z) => {
    await reload(z, withoutZone, /reconfiguring done/);
    assert.equal((await z.request('/')).status, 200);
    assert.equal((await z.request('/')).status, 200, 'no limit any more');
    await reload(z, conf('$binary_remote_addr zone=one:1m sync'), /reconfiguring done/);
    assert.doesNotMatch(z.errorLog(), /\[emerg\]/);
    assert.equal((await z.request('/')).status, 200, 'a fresh zone');
    assert.equal((await z.request('/')).status, 503);
    // The zone is synced now: taking `sync` away again is what is refused.
    await reload(
      z,
      conf('$binary_remote_addr zone=one:1m'),
      /cannot be removed from the existing zone "one"/,
    );
    assert.equal((await z.request('/')).status, 503);
  });
});
