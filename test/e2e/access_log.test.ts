// access_log and log_format through a real process: nginx's combined line, custom and json formats,
// off and if=, buffered writes, and reopening after rotation (SIGUSR1).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

function read(z: Instance, rel: string): string {
  const p = path.join(z.prefix, rel);
  return existsSync(p) ? readFileSync(p, 'latin1') : '';
}

/** Lines are written once the response is out: wait until `rel` holds `n` lines. */
async function lines(z: Instance, rel: string, n: number): Promise<string[]> {
  await waitFor(() => read(z, rel).split('\n').length - 1 >= n, 5000, `${n} lines in ${rel}`);
  return read(z, rel).split('\n').slice(0, -1);
}

const TIME = String.raw`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`;

test('default: logs/access.log in the combined format', async () => {
  const z = await startZonesync({
    conf: 'http { server { listen 127.0.0.1:{{PORT}}; location / { return 200 ok; } } }',
  });
  try {
    await z.request('/x?y=1');
    const auth = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
    await z.request('/q', {
      method: 'HEAD',
      headers: { Referer: 'http://r/', 'User-Agent': 'agent "1"\\', Authorization: auth },
    });
    const [first, second] = await lines(z, 'logs/access.log', 2);
    assert.match(first, new RegExp(`^127\\.0\\.0\\.1 - - ${TIME} "GET /x\\?y=1 HTTP/1\\.1" 200 2 "-" "-"$`));
    assert.match(
      second,
      new RegExp(
        `^127\\.0\\.0\\.1 - alice ${TIME} "HEAD /q HTTP/1\\.1" 200 0 "http://r/" "agent \\\\x221\\\\x22\\\\x5C"$`,
      ),
    );
  } finally {
    await z.stop();
  }
});

test('custom formats: several variables, escape=json, unknown variables refused', async () => {
  const z = await startZonesync({
    conf: `http {
      log_format main '$request_method $uri $args $status $body_bytes_sent '
                      '[$http_x_test] $remote_user';
      log_format j escape=json '{"ua":"$http_user_agent","ref":"$http_referer","s":$status}';
      server {
        listen 127.0.0.1:{{PORT}};
        access_log logs/main.log main;
        access_log logs/json.log j;
        location / { return 404 nope; }
      }
    }`,
  });
  try {
    await z.request('/p/q?a=1&b=2', { headers: { 'X-Test': 'tab\there', 'User-Agent': 'say "hi"\n' } });
    assert.deepEqual(await lines(z, 'logs/main.log', 1), ['GET /p/q a=1&b=2 404 4 [tab\\x09here] -']);
    assert.deepEqual(await lines(z, 'logs/json.log', 1), ['{"ua":"say \\"hi\\"","ref":"","s":404}']);
    assert.equal(read(z, 'logs/access.log'), '');
  } finally {
    await z.stop();
  }
  const bad = await startZonesync({
    conf: `http { log_format f "$no_such_var"; server { listen 127.0.0.1:{{PORT}}; } }`,
    waitPort: false,
  });
  try {
    await waitFor(() => bad.proc.exitCode !== null, 10000, 'exit on a bad configuration');
    assert.match(bad.stderr() + bad.errorLog(), /\[emerg\] unknown "no_such_var" variable/);
  } finally {
    await bad.stop();
  }
});

test('access_log off, and if= skips lines whose condition is empty or "0"', async () => {
  const z = await startZonesync({
    conf: `http {
      log_format s '$uri $status';
      access_log logs/s.log s if=$http_x_log;
      server {
        listen 127.0.0.1:{{PORT}};
        location / { return 200 ok; }
        location /quiet { access_log off; return 200 ok; }
      }
    }`,
  });
  try {
    await z.request('/a', { headers: { 'X-Log': '1' } });
    await z.request('/b', { headers: { 'X-Log': '0' } });
    await z.request('/c');
    await z.request('/quiet', { headers: { 'X-Log': '1' } });
    await z.request('/d', { headers: { 'X-Log': 'yes' } });
    assert.deepEqual(await lines(z, 'logs/s.log', 2), ['/a 200', '/d 200']);
    assert.equal(read(z, 'logs/access.log'), '');
  } finally {
    await z.stop();
  }
});

test('buffer= holds lines until flush= expires, and until exit without it', async () => {
  const z = await startZonesync({
    conf: `http {
      log_format s '$uri';
      server {
        listen 127.0.0.1:{{PORT}};
        access_log logs/timed.log s buffer=32k flush=1s;
        access_log logs/held.log s buffer=32k;
        location / { return 200 ok; }
      }
    }`,
  });
  try {
    await z.request('/one');
    await z.request('/two');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(read(z, 'logs/timed.log'), '');
    assert.deepEqual(await lines(z, 'logs/timed.log', 2), ['/one', '/two']);
    assert.equal(read(z, 'logs/held.log'), '');
    z.signal('SIGTERM');
    await waitFor(() => z.proc.exitCode !== null, 5000, 'exit');
    assert.equal(read(z, 'logs/held.log'), '/one\n/two\n');
  } finally {
    await z.stop();
  }
});

test('SIGUSR1 reopens the access log after it was renamed', async () => {
  const z = await startZonesync({
    conf: `http { server { listen 127.0.0.1:{{PORT}}; access_log logs/access.log combined buffer=4k;
      location / { return 200 ok; } } }`,
  });
  try {
    await z.request('/before');
    renameSync(path.join(z.prefix, 'logs/access.log'), path.join(z.prefix, 'logs/access.log.1'));
    z.signal('SIGUSR1');
    await waitFor(() => z.errorLog().includes('reopening logs'), 5000, 'the reopen notice');
    // The buffered line went to the renamed file when the logs were reopened.
    assert.match(read(z, 'logs/access.log.1'), /"GET \/before HTTP\/1\.1" 200 2/);
    await z.request('/after');
    z.signal('SIGTERM');
    await waitFor(() => z.proc.exitCode !== null, 5000, 'exit');
    assert.match(read(z, 'logs/access.log'), /^127\.0\.0\.1 .*"GET \/after HTTP\/1\.1" 200 2 "-" "-"\n$/);
    assert.doesNotMatch(read(z, 'logs/access.log.1'), /after/);
  } finally {
    await z.stop();
  }
});
