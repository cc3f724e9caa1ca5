// `sticky` through whole cycles: the balancer it installs, its variables, its learn zone's
// declaration and nginx's rules for reusing that zone on reload.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type Cycle, loadCycle } from '../../../src/core/cycle.ts';
import { StickyBalancer } from '../../../src/http/modules/sticky_balancer.ts';
import { upstreamsOf } from '../../../src/http/upstream/upstream.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sticky-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(upstreams: string, previous?: Cycle): Cycle {
  const confFile = path.join(dir, 'zonesync.conf');
  writeFileSync(confFile, `error_log stderr;\nevents {}\nhttp {\n${upstreams}\n}\n`);
  return loadCycle({ confFile, prefix: `${dir}/` }, previous);
}

function loadError(upstreams: string, previous?: Cycle): string {
  try {
    load(upstreams, previous).log.close();
  } catch (err) {
    return (err as Error).message;
  }
  return 'loaded';
}

const learn = (zone: string, extra = '') =>
  `sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=${zone} ${extra};`;
const group = (name: string, sticky: string) =>
  `upstream ${name} { server 127.0.0.1:8001; server 127.0.0.1:8002; ${sticky} }`;

test('sticky installs its balancer and declares the learn zone with its sync flag', () => {
  const cycle = load(group('app', learn('s:64k', 'sync')));
  const http = cycle.main.entries.find((e) => e.name === 'http')?.block;
  assert.ok(http);
  assert.ok(upstreamsOf(http).named('app')?.balancer instanceof StickyBalancer);
  const zone = cycle.zones.get('s');
  assert.deepEqual([zone?.type.name, zone?.size, zone?.sync], ['sticky', 65536, true]);
  cycle.log.close();
});

test('config errors: duplicate directive, unknown variable, a zone in two upstreams', () => {
  assert.match(
    loadError(group('app', `${learn('s:64k')} sticky route $cookie_r;`)),
    /"sticky" directive is duplicate/,
  );
  assert.match(loadError(group('app', 'sticky route $nosuch;')), /unknown "nosuch" variable/);
  assert.match(
    loadError(`${group('a', learn('s:64k'))}\n${group('b', learn('s:64k'))}`),
    /sticky zone "s" is already used in upstream "a"/,
  );
  assert.match(
    loadError(`${group('a', learn('s:64k'))}\n${group('b', learn('s:128k'))}`),
    /the size 131072 of shared memory zone "s" conflicts with already declared size 65536/,
  );
  assert.match(
    loadError('upstream app { server 127.0.0.1:1; sticky cookie; }'),
    /invalid number of arguments/,
  );
});

test('reload: the zone and its sessions stay, unless the zone moved to another upstream', () => {
  const first = load(group('app', learn('s:64k')));
  const zone = first.zones.get('s');
  zone?.set('k', new TextEncoder().encode('sid'), Date.now() + 60_000);
  const same = load(group('app', learn('s:64k', 'timeout=5m')), first);
  assert.equal(same.zones.get('s'), zone);
  assert.equal(same.zones.get('s')?.stats().records, 1);
  assert.match(
    loadError(group('other', learn('s:64k')), same),
    /sticky zone "s" is used in upstream "other" while previously it was used in upstream "app"/,
  );
  assert.match(
    loadError(group('app', learn('s:64k', 'sync')), same),
    /the "sync" parameter cannot be added to the existing zone "s"/,
  );
  const resized = load(group('app', learn('s:128k')), same);
  assert.notEqual(resized.zones.get('s'), zone);
  resized.log.close();
  first.log.close();
  same.log.close();
});
