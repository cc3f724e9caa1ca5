// limit_req through a real bin/zonesync: bursts, nodelay, delay and delay=N, the status, the log
// level, dry run, several limits, empty keys, delays that hold one request and no other, phase order
// (`return` is never limited), nginx's log lines, $limit_req_status, and the API's counters.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

let z: Instance;
before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  log_format lr '$request_uri $status $limit_req_status';
  access_log logs/access.log lr;
  # 1r/m where a test reads excess values: in the milliseconds between requests nothing drains.
  limit_req_zone $arg_k zone=bykey:1m rate=1r/s;
  limit_req_zone $arg_k zone=slow:1m rate=1r/s;
  limit_req_zone $arg_k zone=minute:1m rate=1r/m;
  limit_req_zone $arg_k zone=dry:1m rate=1r/m;
  limit_req_zone $arg_a zone=za:1m rate=1r/m;
  limit_req_zone $arg_b zone=zb:1m rate=1r/m;
  limit_req_zone $arg_k zone=dly:1m rate=5r/s;
  limit_req_zone $arg_k zone=lvl:1m rate=5r/s;
  server {
    listen 127.0.0.1:{{PORT}};
    server_name lr.test;
    root html;
    location = /burst { limit_req zone=bykey burst=2 nodelay; }
    location = /s429 { limit_req zone=bykey nodelay; limit_req_status 429; }
    location = /delay { limit_req zone=slow burst=1; }
    location = /nodelay { limit_req zone=slow burst=1 nodelay; }
    location = /dry { limit_req zone=dry; limit_req_dry_run on; }
    location = /two { limit_req zone=za nodelay; limit_req zone=zb burst=5 nodelay; }
    location = /log { limit_req zone=minute burst=2 nodelay; }
    location = /ret { limit_req zone=bykey; return 200 "returned"; }
    location = /dly { limit_req zone=dly burst=3 delay=1; }
    location = /lvl { limit_req zone=lvl burst=1; limit_req_log_level warn; }
    location /api/ { api write=on; }
  }
}`,
    files: Object.fromEntries(
      ['burst', 's429', 'delay', 'nodelay', 'dry', 'two', 'log', 'dly', 'lvl'].map((f) => [
        `html/${f}`,
        'ok',
      ]),
    ),
  });
});
after(() => z.stop());

const statuses = async (paths: string[]) => {
  const out: number[] = [];
  for (const p of paths) out.push((await z.request(p)).status);
  return out;
};

/** Requests sent at once; statuses sorted. */
const concurrent = async (paths: string[]) =>
  (await Promise.all(paths.map((p) => z.request(p)))).map((r) => r.status).sort();

/** The $limit_req_status values the access log holds for `uri`, sorted. */
const loggedStatuses = (uri: string) =>
  z
    .accessLog()
    .split('\n')
    .filter((l) => l.startsWith(`${uri} `))
    .map((l) => l.split(' ')[2])
    .sort();

test('1r/s with burst=2 nodelay: exactly three pass at once, then 503', async () => {
  assert.deepEqual(await statuses(Array(5).fill('/burst?k=b1')), [200, 200, 200, 503, 503]);
  assert.deepEqual(await statuses(['/burst?k=b2']), [200], 'another key has its own bucket');
});

test('limit_req_status 429', async () => {
  assert.deepEqual(await statuses(['/s429?k=s1', '/s429?k=s1']), [200, 429]);
});

test('delay holds the excess request (excess/rate), nodelay does not', async () => {
  const timed = async (p: string) => {
    const start = performance.now();
    const res = await z.request(p);
    return { status: res.status, ms: performance.now() - start };
  };
  await timed('/delay?k=d1');
  const delayed = await timed('/delay?k=d1');
  assert.equal(delayed.status, 200);
  assert.ok(delayed.ms >= 900, `delayed ${delayed.ms} ms, expected about 1000`);
  await timed('/nodelay?k=d2');
  const quick = await timed('/nodelay?k=d2');
  assert.equal(quick.status, 200);
  assert.ok(quick.ms < delayed.ms, `nodelay took ${quick.ms} ms`);
  // 1.000 less what drained in the milliseconds since the first request.
  assert.match(
    z.errorLog(),
    /\[warn\] \d+#0: \*\d+ delaying request, excess: (0\.9\d\d|1\.000), by zone "slow", client: 127\.0\.0\.1/,
  );
});

test('dry run answers every request and logs $limit_req_status REJECTED_DRY_RUN', async () => {
  assert.deepEqual(await statuses(['/dry?k=x', '/dry?k=x', '/dry?k=x']), [200, 200, 200]);
  await waitFor(() => z.accessLog().includes('/dry?k=x 200 REJECTED_DRY_RUN'), 3000, 'access log');
  assert.match(z.accessLog(), /\/dry\?k=x 200 PASSED\n/);
  assert.match(z.errorLog(), /limiting requests, dry run, excess: 1\.000 by zone "dry"/);
});

test('two limits on one request: the first over its burst rejects and is named', async () => {
  assert.deepEqual(await statuses(['/two?a=1&b=1', '/two?a=2&b=1', '/two?a=1&b=9']), [200, 200, 503]);
  assert.match(z.errorLog(), /limiting requests, excess: 1\.000 by zone "za"/);
});

test('`return` answers in the rewrite phase, before limit_req runs', async () => {
  assert.deepEqual(await statuses(Array(4).fill('/ret?k=r')), [200, 200, 200, 200]);
});

test("the refusal's log line is nginx's", async () => {
  assert.deepEqual(await statuses(Array(4).fill('/log?k=log')), [200, 200, 200, 503]);
  assert.match(
    z.errorLog(),
    /\[error\] \d+#0: \*\d+ limiting requests, excess: 3\.000 by zone "minute", client: 127\.0\.0\.1, server: lr\.test, request: "GET \/log\?k=log HTTP\/1\.1", host: "localhost"\n/,
  );
});

test('API: counters per zone, one zone, DELETE resets, unknown zone, version 6+', async () => {
  await statuses(['/s429?k=api', '/s429?k=api']);
  const all = JSON.parse((await z.request('/api/9/http/limit_reqs/')).text);
  assert.deepEqual(Object.keys(all), ['bykey', 'slow', 'minute', 'dry', 'za', 'zb', 'dly', 'lvl']);
  assert.deepEqual(Object.keys(all.bykey), [
    'passed',
    'delayed',
    'rejected',
    'delayed_dry_run',
    'rejected_dry_run',
  ]);
  assert.ok(all.bykey.rejected >= 1 && all.bykey.passed >= 1);
  assert.ok(all.dry.rejected_dry_run >= 1);
  const one = await z.request('/api/9/http/limit_reqs/bykey');
  assert.equal(one.status, 200);
  assert.equal((await z.request('/api/9/http/limit_reqs/bykey', { method: 'DELETE' })).status, 204);
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/limit_reqs/bykey')).text), {
    passed: 0,
    delayed: 0,
    rejected: 0,
    delayed_dry_run: 0,
    rejected_dry_run: 0,
  });
  const missing = await z.request('/api/9/http/limit_reqs/nosuch');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.text).error.code, 'LimitReqNotFound');
  assert.equal((await z.request('/api/5/http/limit_reqs/')).status, 404);
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/limit_reqs/?fields=')).text).za, {});
});

test('burst=3 delay=1: two pass at once, two are held, one is refused; $limit_req_status says which', async () => {
  const start = performance.now();
  assert.deepEqual(await concurrent(Array(5).fill('/dly?k=d')), [200, 200, 200, 200, 503]);
  // The longest hold is (3.000 - 1.000) at 5r/s: 400 ms, less what drained meanwhile.
  assert.ok(performance.now() - start >= 250, 'the delayed ones were held');
  await waitFor(() => loggedStatuses('/dly?k=d').length === 5, 3000, 'access log');
  assert.deepEqual(loggedStatuses('/dly?k=d'), ['DELAYED', 'DELAYED', 'PASSED', 'PASSED', 'REJECTED']);
  assert.match(z.errorLog(), /\[warn\] .*delaying request, excess: [12]\.\d{3}, by zone "dly"/);
});

test('limit_req_log_level warn: refusals at warn, delays one level lower (notice)', async () => {
  assert.deepEqual(await concurrent(Array(3).fill('/lvl?k=l')), [200, 200, 503]);
  assert.match(z.errorLog(), /\[warn\] \d+#0: \*\d+ limiting requests, excess: 1\.\d{3} by zone "lvl"/);
  assert.match(
    z.errorLog(),
    /\[notice\] \d+#0: \*\d+ delaying request, excess: (0\.9\d\d|1\.000), by zone "lvl"/,
  );
  assert.doesNotMatch(z.errorLog(), /\[error\] .*zone "lvl"/);
});

test('an empty key is not limited, and leaves $limit_req_status empty', async () => {
  assert.deepEqual(await statuses(Array(4).fill('/burst')), [200, 200, 200, 200]);
  await waitFor(() => loggedStatuses('/burst').length === 4, 3000, 'access log');
  assert.deepEqual(loggedStatuses('/burst'), ['-', '-', '-', '-']);
});

test('a delayed request holds only itself: others are answered meanwhile', async () => {
  assert.equal((await z.request('/delay?k=hold')).status, 200);
  const start = performance.now();
  const held = z.request('/delay?k=hold').then(() => performance.now() - start);
  await new Promise((r) => setTimeout(r, 100));
  const other = performance.now();
  assert.equal((await z.request('/nodelay?k=meanwhile')).status, 200);
  const otherMs = performance.now() - other;
  const heldMs = await held;
  assert.ok(heldMs >= 900, `held ${heldMs} ms`);
  assert.ok(otherMs < 500, `another request took ${otherMs} ms while one was held`);
});
