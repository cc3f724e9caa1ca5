// The `metrics` location through a real bin/zonesync: Prometheus text with the limit_req counters
// the API reports, the shared zones' records, zone_sync's status, a default process metric, and
// 405 for other methods.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Instance, startZonesync } from '../helpers/instance.ts';

let z: Instance;
before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  # 1r/m: nothing drains in the milliseconds between the test's requests.
  limit_req_zone $arg_k zone=lim:1m rate=1r/m;
  limit_req_zone $arg_k zone=dry:1m rate=1r/m;
  keyval_zone zone=kv:1m timeout=1h sync;
  keyval $arg_k $kv zone=kv;
  server {
    listen 127.0.0.1:{{PORT}};
    root html;
    location = /limited { limit_req zone=lim burst=1 nodelay; }
    location = /dry { limit_req zone=dry; limit_req_dry_run on; }
    location /api/ { api write=on; }
    location = /metrics { metrics; }
  }
}
stream {
  server {
    listen 127.0.0.1:{{PORT1}};
    zone_sync;
    # Nobody listens there: a node alone, with its zone_sync counters and zones.
    zone_sync_server 127.0.0.1:{{PORT2}};
  }
}`,
    files: { 'html/limited': 'ok', 'html/dry': 'ok' },
  });
});
after(() => z?.stop());

/** `name{labels} value` lines of the exposition, by series as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await z.request('/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return samples(res.text);
}

test('limit_req counters, zone records, zone_sync and process metrics', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await z.request('/limited?k=a')).status);
  assert.deepEqual(statuses, [200, 200, 503, 503]);
  for (let i = 0; i < 3; i++) assert.equal((await z.request('/dry?k=a')).status, 200);
  const post = await z.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"a":"1","b":"2"}' });
  assert.equal(post.status, 201);

  const m = await scrape();
  const api = JSON.parse((await z.request('/api/9/http/limit_reqs/')).text);
  for (const zone of ['lim', 'dry']) {
    for (const field of ['passed', 'delayed', 'rejected', 'delayed_dry_run', 'rejected_dry_run']) {
      assert.equal(
        m.get(`zonesync_limit_req_${field}_total{zone="${zone}"}`),
        api[zone][field],
        `${zone} ${field}`,
      );
    }
  }
  assert.equal(m.get('zonesync_limit_req_passed_total{zone="lim"}'), 2);
  assert.equal(m.get('zonesync_limit_req_rejected_total{zone="lim"}'), 2);
  assert.equal(m.get('zonesync_limit_req_rejected_dry_run_total{zone="dry"}'), 2);

  assert.equal(m.get('zonesync_zone_records{zone="kv",type="keyval"}'), 2);
  assert.equal(m.get('zonesync_zone_records{zone="lim",type="limit_req"}'), 1);
  assert.equal(m.get('zonesync_zone_size_bytes{zone="kv",type="keyval"}'), 1024 * 1024);
  assert.ok((m.get('zonesync_zone_used_bytes{zone="kv",type="keyval"}') ?? 0) > 0);

  assert.equal(m.get('zonesync_zone_sync_nodes_online'), 0);
  assert.equal(m.get('zonesync_zone_sync_records{zone="kv"}'), 2);
  assert.ok(m.has('zonesync_zone_sync_records_pending{zone="kv"}'));
  assert.ok(m.has('zonesync_zone_sync_msgs_out_total'));

  assert.ok((m.get('zonesync_process_resident_memory_bytes') ?? 0) > 0);
  assert.ok(m.has('zonesync_nodejs_heap_size_used_bytes'));
});

test('values are read at scrape time', async () => {
  const before = (await scrape()).get('zonesync_limit_req_rejected_total{zone="lim"}') ?? 0;
  assert.equal((await z.request('/limited?k=a')).status, 503);
  assert.equal((await scrape()).get('zonesync_limit_req_rejected_total{zone="lim"}'), before + 1);
});

test('HEAD has the headers only; other methods get 405', async () => {
  const head = await z.request('/metrics', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await z.request('/metrics', { method, body: method === 'POST' ? 'x' : undefined });
    assert.equal(res.status, 405, method);
    assert.equal(JSON.parse(res.text).error.code, 'MethodNotSupported');
  }
});
