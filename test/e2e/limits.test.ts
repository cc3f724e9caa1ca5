// Connection limits and timeouts as nginx applies them, and the error-log lines they leave.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

let z: Instance;
before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  access_log logs/access.log;
  client_header_timeout 300ms;
  keepalive_timeout 400ms;
  keepalive_requests 3;
  server {
    listen 127.0.0.1:{{PORT}};
    server_name limits.test;
    root html;
    location = /r { return 200 "r"; }
  }
}`,
    files: { 'html/index.html': 'index' },
  });
});
after(() => z.stop());

/** Open a connection, send `data`, and resolve with what came back and how long until close. */
function exchange(data: string): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const chunks: Buffer[] = [];
    const s = net.connect(z.port, '127.0.0.1', () => s.write(data));
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - start }));
    setTimeout(() => s.destroy(), 5000);
  });
}

test('client_header_timeout: an incomplete header is dropped without an answer', async () => {
  const r = await exchange('GET / HTTP/1.1\r\nHost: x\r\n');
  assert.equal(r.text, '');
  assert.ok(r.ms >= 250 && r.ms < 3000, `closed after ${r.ms} ms`);
  await waitFor(() => /client timed out/.test(z.errorLog()), 3000, 'timeout line').catch(() => {});
});

test('keepalive_timeout closes an idle connection; keepalive_requests ends it on the last request', async () => {
  const idle = await exchange('GET /r HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(idle.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(idle.text, /Connection: keep-alive/);
  assert.ok(idle.ms >= 350 && idle.ms < 3000, `idle close after ${idle.ms} ms`);
  const req = 'GET /r HTTP/1.1\r\nHost: x\r\n\r\n';
  const three = await exchange(req + req + req + req);
  const statuses = [...three.text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200', '200']);
  assert.equal([...three.text.matchAll(/Connection: close/g)].length, 1);
});

test('methods: a lowercase method is a 400; static answers other methods with 405', async () => {
  assert.match((await exchange('get / HTTP/1.1\r\nHost: x\r\n\r\n')).text, /^HTTP\/1\.1 400 /);
  const del = await exchange('DELETE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(del.text, /^HTTP\/1\.1 405 Not Allowed\r\n/);
  const ret = await exchange('PURGE /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(ret.text, /^HTTP\/1\.1 200 OK\r\n/); // return answers any method, as in nginx
});

test("error log lines carry nginx's context; access log has the combined line", async () => {
  const r = await z.request('/missing.html', { headers: { 'User-Agent': 'ua/1' } });
  assert.equal(r.status, 404);
  await waitFor(() => /missing\.html/.test(z.errorLog()), 3000, 'error line');
  const line = z
    .errorLog()
    .split('\n')
    .find((l) => l.includes('missing.html'));
  assert.match(
    line ?? '',
    /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[error\] \d+#0: \*\d+ open\(\) ".*\/html\/missing\.html" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: limits\.test, request: "GET \/missing\.html HTTP\/1\.1", host: "localhost"$/,
  );
  await waitFor(() => /missing\.html/.test(z.accessLog()), 3000, 'access line');
  const access = z
    .accessLog()
    .split('\n')
    .find((l) => l.includes('missing.html'));
  assert.match(
    access ?? '',
    /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/missing\.html HTTP\/1\.1" 404 \d+ "-" "ua\/1"$/,
  );
});
