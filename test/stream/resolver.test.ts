// The nginx `resolver` client against the embedded DNS responder: caching by TTL and by `valid=`,
// shared queries, A/AAAA by ipv4=/ipv6=, and failures in nginx's words (NXDOMAIN, refused, silent).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  NginxResolver,
  RESOLVE_TIMEDOUT,
  ResolveError,
  type ResolverOptions,
} from '../../src/stream/resolver.ts';
import { type DnsResponder, startDnsResponder } from '../helpers/dns.ts';

let dns: DnsResponder;
before(async () => {
  dns = await startDnsResponder({ ttl: 1 });
});
after(() => dns.close());

const resolverFor = (opts: Partial<ResolverOptions> = {}) =>
  new NginxResolver([{ host: dns.host, port: dns.port }], {
    ipv4: true,
    ipv6: false,
    timeout: 2000,
    ...opts,
  });

async function failure(p: Promise<unknown>): Promise<ResolveError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResolveError, String(err));
    return err;
  }
  assert.fail('resolved, expected a failure');
}

test('answers are kept for their TTL, then asked again', async () => {
  dns.setRecords('ttl.test', ['10.0.0.1', '10.0.0.2'], 1);
  const r = resolverFor();
  const first = await r.resolve('ttl.test');
  assert.deepEqual(first.addresses, ['10.0.0.1', '10.0.0.2']);
  assert.equal(first.ttlMs, 1000);
  dns.setRecords('ttl.test', ['10.0.0.3'], 1);
  const cached = await r.resolve('TTL.test.');
  assert.deepEqual(cached.addresses, ['10.0.0.1', '10.0.0.2'], 'case and a trailing dot do not matter');
  assert.equal(dns.queryCount('ttl.test'), 1);
  await sleep(1100);
  assert.deepEqual((await r.resolve('ttl.test')).addresses, ['10.0.0.3']);
  assert.equal(dns.queryCount('ttl.test'), 2);
});

test('valid= overrides the TTL', async () => {
  dns.setRecords('valid.test', ['10.1.0.1'], 1);
  const r = resolverFor({ valid: 2500 });
  assert.deepEqual(await r.resolve('valid.test'), { addresses: ['10.1.0.1'], ttlMs: 2500 });
  dns.setRecords('valid.test', ['10.1.0.2'], 1);
  await sleep(1200);
  assert.deepEqual((await r.resolve('valid.test')).addresses, ['10.1.0.1'], 'still valid past the TTL');
  await sleep(1500);
  assert.deepEqual((await r.resolve('valid.test')).addresses, ['10.1.0.2']);
});

test('concurrent lookups of one name share one query', async () => {
  dns.setRecords('shared.test', ['10.2.0.1']);
  const r = resolverFor();
  const answers = await Promise.all([
    r.resolve('shared.test'),
    r.resolve('shared.test'),
    r.resolve('shared.test'),
  ]);
  for (const a of answers) assert.deepEqual(a.addresses, ['10.2.0.1']);
  assert.equal(dns.queryCount('shared.test'), 1);
});

test('ipv6=on adds AAAA answers after the A ones; ipv4=off leaves only them', async () => {
  dns.setRecords('dual.test', ['fd00::1', '10.3.0.1']);
  assert.deepEqual((await resolverFor({ ipv6: true }).resolve('dual.test')).addresses, [
    '10.3.0.1',
    'fd00::1',
  ]);
  assert.deepEqual((await resolverFor().resolve('dual.test')).addresses, ['10.3.0.1']);
  assert.deepEqual((await resolverFor({ ipv4: false, ipv6: true }).resolve('dual.test')).addresses, [
    'fd00::1',
  ]);
});

test('an unknown name, or one without addresses, is "Host not found", never kept', async () => {
  const r = resolverFor({ ipv6: true });
  const e = await failure(r.resolve('nowhere.test'));
  assert.equal(e.message, 'nowhere.test could not be resolved (3: Host not found)');
  assert.equal(e.state, 3);
  assert.equal(e.retryMs, 10_000);
  dns.setRecords('nowhere.test', ['10.4.0.1']);
  assert.deepEqual((await r.resolve('nowhere.test')).addresses, ['10.4.0.1'], 'asked again at once');
  dns.setRecords('empty.test', []);
  assert.equal((await failure(r.resolve('empty.test'))).state, 3);
  dns.setRecords('v6only.test', ['fd00::2']);
  assert.equal((await failure(resolverFor().resolve('v6only.test'))).state, 3);
  assert.equal((await failure(resolverFor({ valid: 20_000 }).resolve('x.nowhere.test'))).retryMs, 20_000);
});

test('a server that refuses is logged, and the name times out; it resolves once the server is back', async () => {
  const lines: string[] = [];
  const port = dns.port;
  await dns.close();
  try {
    const r = new NginxResolver([{ host: '127.0.0.1', port }], {
      ipv4: true,
      ipv6: false,
      timeout: 1000,
      log: (level, message) => lines.push(`[${level}] ${message}`),
    });
    const e = await failure(r.resolve('down.test'));
    assert.equal(e.message, 'down.test could not be resolved (110: Operation timed out)');
    assert.equal(e.state, RESOLVE_TIMEDOUT);
    assert.deepEqual(lines, [
      `[error] recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:${port}`,
    ]);
    dns = await startDnsResponder({ port, ttl: 1 });
    dns.setRecords('down.test', ['10.5.0.1']);
    assert.deepEqual((await r.resolve('down.test')).addresses, ['10.5.0.1']);
  } finally {
    dns ??= await startDnsResponder({ ttl: 1 });
  }
});

test('a server that never answers fails the name after resolver_timeout', async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const r = new NginxResolver([{ host: '127.0.0.1', port: silent.address().port }], {
      ipv4: true,
      ipv6: false,
      timeout: 300,
    });
    const started = performance.now();
    const e = await failure(r.resolve('silent.test'));
    const took = performance.now() - started;
    assert.equal(e.state, RESOLVE_TIMEDOUT);
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
  } finally {
    silent.close();
  }
});

test('an IP address resolves to itself without a query', async () => {
  const r = new NginxResolver([{ host: '127.0.0.1', port: 9 }], { ipv4: true, ipv6: true, timeout: 100 });
  assert.deepEqual((await r.resolve('10.9.9.9')).addresses, ['10.9.9.9']);
  assert.deepEqual((await r.resolve('::1')).addresses, ['::1']);
});
