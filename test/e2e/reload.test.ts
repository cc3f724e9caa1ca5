// SIGHUP: a new configuration goes live without refusing a connection or failing a request; a
// broken one is logged in nginx's words and the old one keeps serving; listeners are handed over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canConnect, httpRequest, startZonesync, waitFor } from '../helpers/instance.ts';

const conf = (body: string, extraServer = '') => `
events {}
http {
  access_log off;
  server { listen 127.0.0.1:{{PORT}}; location / { return 200 "${body}"; } }
  ${extraServer}
}`;

test('reload under continuous load: zero failed requests, every answer from the old or new config', async () => {
  const z = await startZonesync({ conf: conf('v0') });
  try {
    let failures = 0;
    let done = 0;
    const seen = new Set<string>();
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const r = await httpRequest(z.port, '/');
          if (r.status !== 200) failures++;
          seen.add(r.text);
        } catch {
          failures++;
        }
        done++;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let i = 1; i <= 6; i++) {
      await new Promise((r) => setTimeout(r, 150));
      z.writeConf(conf(`v${i}`));
      z.signal('SIGHUP');
    }
    await waitFor(async () => (await httpRequest(z.port, '/')).text === 'v6', 5000, 'last config');
    running = false;
    await Promise.all(clients);
    assert.equal(failures, 0, `${failures} of ${done} requests failed`);
    assert.ok(done > 50, `only ${done} requests ran`);
    assert.ok(seen.size >= 2, `answers came from ${[...seen]}`);
  } finally {
    await z.stop();
  }
});

test('a broken configuration on reload is logged and the old one keeps serving', async () => {
  const z = await startZonesync({ conf: conf('good') });
  try {
    z.writeConf(
      'events {}\nhttp {\n  server { listen 127.0.0.1:{{PORT}}; location / { return 200 "bad" } }\n}\n',
    );
    z.signal('SIGHUP');
    await waitFor(() => /\[emerg\]/.test(z.errorLog()), 5000, 'emerg line');
    assert.match(z.errorLog(), /\[emerg\] \d+#0: unexpected "\}" in .*zonesync\.conf:\d+/);
    assert.equal((await z.request('/')).text, 'good');
  } finally {
    await z.stop();
  }
});

test('reload adds and removes listeners', async () => {
  const z = await startZonesync({ conf: conf('a') });
  try {
    const second = 'server { listen 127.0.0.1:{{PORT1}}; location / { return 200 "second"; } }';
    z.writeConf(conf('a', second));
    z.signal('SIGHUP');
    await waitFor(() => canConnect(z.ports[1]), 5000, 'new listener');
    assert.equal((await httpRequest(z.ports[1], '/')).text, 'second');
    z.writeConf(conf('a'));
    z.signal('SIGHUP');
    await waitFor(async () => !(await canConnect(z.ports[1])), 5000, 'listener closed');
    assert.equal((await z.request('/')).text, 'a');
  } finally {
    await z.stop();
  }
});
