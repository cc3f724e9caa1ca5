import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hlc, ManualClock } from '../../src/core/clock.ts';
import { carryOver, retire, type ZoneDecl, type ZoneRegistry } from '../../src/zones/registry.ts';
import { bytes, keyvalType, limitReqType, stickyType, T0, text } from './zone_types.ts';

const clock = new ManualClock(T0);
const env = { hlc: new Hlc(1, clock), clock };
const decl = (name: string, size: number, extra: Partial<ZoneDecl> = {}): ZoneDecl => ({
  name,
  type: limitReqType,
  size,
  sync: false,
  params: '$binary_remote_addr',
  file: '/etc/zonesync/nginx.conf',
  line: 12,
  ...extra,
});

function load(previous: ZoneRegistry | undefined, decls: ZoneDecl[]) {
  const { zones, errors } = carryOver(previous, decls, env);
  return { zones, errors: errors.map((e) => e.text) };
}

describe('zone registry: one configuration', () => {
  it('builds one zone per name, sized by whichever declaration has the size', () => {
    const { zones, errors } = load(undefined, [
      decl('one', 0),
      decl('one', 32768),
      decl('two', 65536, { sync: true }),
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      [...zones].map((z) => [z.name, z.size, z.sync]),
      [
        ['one', 32768, false],
        ['two', 65536, true],
      ],
    );
  });

  it('reports conflicts with ngx_shared_memory_add wording', () => {
    const { zones, errors } = load(undefined, [
      decl('one', 32768),
      decl('one', 65536),
      decl('one', 32768, { type: keyvalType }),
      decl('two', 32768),
      decl('two', 32768, { sync: true }),
      decl('ref', 0),
    ]);
    assert.equal(zones.size, 0);
    assert.deepEqual(errors, [
      'the size 65536 of shared memory zone "one" conflicts with already declared size 32768 in /etc/zonesync/nginx.conf:12',
      'the shared memory zone "one" is already declared for a different use in /etc/zonesync/nginx.conf:12',
      'the "sync" parameter of shared memory zone "two" conflicts with its earlier declaration in /etc/zonesync/nginx.conf:12',
      'zero size shared memory zone "ref"',
    ]);
  });
});

describe('zone registry: reload', () => {
  const first = () => {
    const { zones } = load(undefined, [
      decl('one', 32768),
      decl('s', 32768, { type: stickyType, sync: true }),
    ]);
    zones.get('one')!.set('k', bytes('state'));
    zones.get('s')!.set('sess', bytes('sid'));
    return zones;
  };

  it('carries a zone with the same name, type and size over, records and all', () => {
    const old = first();
    const { zones, errors } = load(old, [
      decl('one', 32768),
      decl('s', 32768, { type: stickyType, sync: true }),
    ]);
    assert.deepEqual(errors, []);
    assert.equal(zones.get('one'), old.get('one'));
    assert.equal(text(zones.get('s')?.get('sess')?.value), 'sid');
  });

  it('starts a zone afresh when its size or type changes, whatever its sync flag', () => {
    const old = first();
    const { zones, errors } = load(old, [
      decl('one', 65536, { sync: true }),
      decl('s', 32768, { type: keyvalType, sync: true }),
    ]);
    assert.deepEqual(errors, []);
    assert.notEqual(zones.get('one'), old.get('one'));
    assert.equal(zones.get('one')?.get('k'), undefined);
    assert.equal(zones.get('s')?.type.name, 'keyval');
  });

  it('refuses to add or remove sync on a zone it would reuse, and keeps the old zones', () => {
    const old = first();
    const { zones, errors } = load(old, [
      decl('one', 32768, { sync: true }),
      decl('s', 32768, { type: stickyType }),
    ]);
    assert.equal(zones.size, 0);
    assert.deepEqual(errors, [
      'the "sync" parameter cannot be added to the existing zone "one"; remove the zone\'s directive, reload, then add it back with "sync" and reload again in /etc/zonesync/nginx.conf:12',
      'the "sync" parameter cannot be removed from the existing zone "s"; remove the zone\'s directive, reload, then add it back without "sync" and reload again in /etc/zonesync/nginx.conf:12',
    ]);
    assert.equal(text(old.get('one')?.get('k')?.value), 'state');
  });

  it('lets the module veto reuse (limit_req: a changed key), as nginx does', () => {
    const old = first();
    const { errors } = load(old, [decl('one', 32768, { params: '$remote_addr' })]);
    assert.deepEqual(errors, [
      'limit_req "one" uses the "$remote_addr" key while previously it used the "$binary_remote_addr" key in /etc/zonesync/nginx.conf:12',
    ]);
  });

  it('closes the zones a new cycle dropped, and only those', () => {
    const old = first();
    const feed: string[] = [];
    old.get('one')!.subscribe(() => feed.push('one'));
    old.get('s')!.subscribe(() => feed.push('s'));
    const { zones } = load(old, [decl('one', 32768)]);
    retire(old, zones);
    old.get('one')!.set('k2', bytes('v'));
    old.get('s')!.set('k2', bytes('v'));
    assert.deepEqual(feed, ['one']);
  });
});
