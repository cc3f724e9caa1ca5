// Sending the request upstream when it does not fit in one write: the rest waits for the
// upstream to read (proxy_send_timeout between writes), and a failure while sending is a 502.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Backend, rawBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync } from '../helpers/instance.ts';

const BODY = Buffer.alloc(16 * 1024 * 1024, 'b');
let z: Instance;
let stalled: Backend;
let slow: Backend;
let closing: Backend;
let mute: Backend;

/** Answers once `length` request bytes (head and body) have arrived. */
function answerAfter(
  length: number,
  s: import('node:net').Socket,
  read: (s: import('node:net').Socket) => void,
): void {
  let got = 0;
  s.on('data', (d) => {
    got += d.length;
    if (got < length) return;
    const body = String(got);
    s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
  read(s);
}

before(async () => {
  // accepts and never reads: the request stays queued until proxy_send_timeout
  stalled = await rawBackend((s) => s.pause());
  // reads in bursts with pauses: the request goes out over several writes
  slow = await rawBackend((s) =>
    answerAfter(BODY.length, s, (sock) => {
      const tick = setInterval(() => {
        if (sock.destroyed) return clearInterval(tick);
        sock.isPaused() ? sock.resume() : sock.pause();
      }, 50);
    }),
  );
  // reads everything, never answers
  mute = await rawBackend((s) => s.resume());
  // reads the start of the request, then resets the connection
  closing = await rawBackend((s) => s.once('data', () => s.resetAndDestroy()));
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  client_max_body_size 32m;
  server {
    listen 127.0.0.1:{{PORT}};
    location /stalled { proxy_pass http://127.0.0.1:${stalled.port}; proxy_send_timeout 300ms; }
    location /slow { proxy_pass http://127.0.0.1:${slow.port}; }
    location /closing { proxy_pass http://127.0.0.1:${closing.port}; }
    location /mute { proxy_pass http://127.0.0.1:${mute.port}; proxy_read_timeout 300ms; }
    location /ok { return 200 "ok"; }
  }
}`,
  });
});

after(async () => {
  await z.stop();
  await Promise.all([stalled.close(), slow.close(), closing.close(), mute.close()]);
});

test('an upstream that reads slowly gets the whole request, then its answer is passed on', async () => {
  const r = await z.request('/slow', { method: 'POST', body: BODY });
  assert.equal(r.status, 200, r.text);
  assert.ok(Number(r.text) > BODY.length, r.text);
});

test('once the whole request is out, proxy_read_timeout runs: 504 while reading the header', async () => {
  const r = await z.request('/mute', { method: 'POST', body: BODY });
  assert.equal(r.status, 504);
  assert.match(
    z.errorLog(),
    /upstream timed out \(110: Connection timed out\) while reading response header from upstream, .*upstream: "http:\/\/127\.0\.0\.1:\d+\/mute"/,
  );
});

test('an upstream that does not read: 504 after proxy_send_timeout, logged as nginx does', async () => {
  const r = await z.request('/stalled', { method: 'POST', body: BODY });
  assert.equal(r.status, 504);
  assert.match(
    z.errorLog(),
    /\[error\] \d+#0: \*\d+ upstream timed out \(110: Connection timed out\) while sending request to upstream, .*upstream: "http:\/\/127\.0\.0\.1:\d+\/stalled"/,
  );
});

test('an upstream that resets the connection while the request goes out: 502', async () => {
  const r = await z.request('/closing', { method: 'POST', body: BODY });
  assert.equal(r.status, 502);
  assert.match(
    z.errorLog(),
    /\[error\] .* while sending request to upstream, .*upstream: "http:\/\/127\.0\.0\.1:\d+\/closing"/,
  );
  // the process and its other locations go on
  assert.equal((await z.request('/ok')).text, 'ok');
});
