// limit_req through whole cycles: nginx's configuration errors, the zones it declares, and the
// reload rules (states kept; a changed key or `sync` flag refused).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type Cycle, loadCycle } from '../../../src/core/cycle.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'limit-req-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(http: string, previous?: Cycle): Cycle {
  const confFile = path.join(dir, 'zonesync.conf');
  writeFileSync(confFile, `error_log stderr;\nevents {}\nhttp {\n${http}\n}\n`);
  return loadCycle({ confFile, prefix: `${dir}/` }, previous);
}

function loadError(http: string, previous?: Cycle): string {
  try {
    load(http, previous).log.close();
  } catch (err) {
    return (err as Error).message;
  }
  return 'loaded';
}

const zone = (args: string) => `limit_req_zone $binary_remote_addr ${args};`;

test('limit_req_zone declares a zone with its size and sync flag', () => {
  const cycle = load(`${zone('zone=one:1m rate=1r/s')} ${zone('zone=two:64k rate=30r/m sync')}`);
  const one = cycle.zones.get('one');
  const two = cycle.zones.get('two');
  assert.deepEqual([one?.type.name, one?.size, one?.sync], ['limit_req', 1024 * 1024, false]);
  assert.deepEqual([two?.size, two?.sync], [65536, true]);
  cycle.log.close();
});

test("nginx's configuration errors", () => {
  const cases: [string, RegExp][] = [
    [zone('zone=one rate=1r/s'), /invalid zone size "zone=one"/],
    [zone('zone=one:16k rate=1r/s'), /zone "zone=one:16k" is too small/],
    [zone('zone=one:1m rate=0r/s'), /invalid rate "rate=0r\/s"/],
    [zone('zone=one:1m rate=1r/h'), /invalid rate "rate=1r\/h"/],
    [zone('zone=one:1m speed=1'), /invalid parameter "speed=1"/],
    ['limit_req_zone $binary_remote_addr rate=1r/s sync;', /"limit_req_zone" must have "zone" parameter/],
    ['limit_req_zone $binary_remote_addr zone=one:1m;', /invalid number of arguments in "limit_req_zone"/],
    [
      `${zone('zone=one:1m rate=1r/s')} limit_req_zone $uri zone=one:1m rate=2r/s;`,
      /limit_req_zone "one" is already bound to key "\$binary_remote_addr"/,
    ],
    [
      `${zone('zone=one:1m rate=1r/s')} limit_req_zone $uri zone=one:2m rate=2r/s;`,
      /the size 2097152 of shared memory zone "one" conflicts with already declared size 1048576/,
    ],
    ['limit_req zone=nosuch;', /zero size shared memory zone "nosuch"/],
    [`${zone('zone=one:1m rate=1r/s')} limit_req burst=5;`, /"limit_req" must have "zone" parameter/],
    [`${zone('zone=one:1m rate=1r/s')} limit_req zone=one burst=0;`, /invalid burst value "burst=0"/],
    [`${zone('zone=one:1m rate=1r/s')} limit_req zone=one delay=x;`, /invalid delay value "delay=x"/],
    [`${zone('zone=one:1m rate=1r/s')} limit_req zone=one fast;`, /invalid parameter "fast"/],
    [
      `${zone('zone=one:1m rate=1r/s')} limit_req zone=one; limit_req zone=one burst=2;`,
      /"limit_req" directive is duplicate/,
    ],
    ['limit_req_status 302;', /value must be between 400 and 599/],
    ['limit_req_status x;', /"limit_req_status" directive invalid number/],
    ['limit_req_log_level debug;', /invalid value "debug"/],
    ['limit_req_dry_run maybe;', /it must be "on" or "off"/],
    ['limit_req_zone $nosuch zone=one:1m rate=1r/s;', /unknown "nosuch" variable/],
  ];
  for (const [conf, expected] of cases) assert.match(loadError(conf), expected, conf);
});

test('a reload keeps the zone (and its states) while the key stays; a changed key is refused', () => {
  const first = load(zone('zone=one:1m rate=1r/s'));
  const kept = load(zone('zone=one:1m rate=5r/s'), first);
  assert.equal(kept.zones.get('one'), first.zones.get('one'), 'same zone: rate is not stored in it');
  assert.match(
    loadError('limit_req_zone $uri zone=one:1m rate=1r/s;', kept),
    /limit_req "one" uses the "\$uri" key while previously it used the "\$binary_remote_addr" key/,
  );
  const resized = load('limit_req_zone $uri zone=one:2m rate=1r/s;', kept);
  assert.notEqual(resized.zones.get('one'), kept.zones.get('one'), 'another size: a fresh zone');
  for (const c of [first, kept, resized]) c.log.close();
});

test('a reload that adds or removes `sync` is refused, naming the zone', () => {
  const plain = load(zone('zone=one:1m rate=1r/s'));
  assert.match(
    loadError(zone('zone=one:1m rate=1r/s sync'), plain),
    /"sync" parameter cannot be added to the existing zone "one"/,
  );
  const synced = load(zone('zone=two:1m rate=1r/s sync'));
  assert.match(
    loadError(zone('zone=two:1m rate=1r/s'), synced),
    /"sync" parameter cannot be removed from the existing zone "two"/,
  );
  plain.log.close();
  synced.log.close();
});
