import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.ts';
import { filterFields, parseFields } from '../../src/api/fields.ts';
import { parseVersion, registerApiEndpoint, resolveRoute } from '../../src/api/router.ts';

const ok = () => ({ status: 200, body: {} });

registerApiEndpoint({ path: ['demo', 'zones'], shape: 'collection', methods: { GET: ok } });
registerApiEndpoint({ path: ['demo', 'zones', '{zone}'], methods: { GET: ok, DELETE: ok } });
registerApiEndpoint({ path: ['demo', 'zones', '{zone}', 'keys', '{key}'], methods: { GET: ok } });
registerApiEndpoint({ path: ['demo', 'recent'], since: 6, methods: { GET: ok } });
let configured = false;
registerApiEndpoint({ path: ['demo', 'optional'], present: () => configured, methods: { GET: ok } });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError);
    return `${err.status} ${err.code}`;
  }
  return 'no error';
}

describe('resolveRoute', () => {
  it('lists versions below the prefix, and root endpoints below a version', () => {
    assert.deepEqual(resolveRoute([]).route, { kind: 'versions' });
    const { route, version } = resolveRoute(['9']);
    assert.equal(version, 9);
    assert.equal(route.kind, 'list');
    assert.ok(route.kind === 'list' && route.names.includes('nginx') && route.names.includes('demo'));
  });

  it('finds endpoints with their parameters; static segments first', () => {
    const { route } = resolveRoute(['9', 'demo', 'zones', 'one', 'keys', 'k1']);
    assert.equal(route.kind, 'endpoint');
    assert.deepEqual(route.kind === 'endpoint' && route.params, { zone: 'one', key: 'k1' });
    const zones = resolveRoute(['9', 'demo', 'zones']).route;
    assert.ok(zones.kind === 'endpoint' && zones.endpoint.shape === 'collection');
  });

  it('lists a path without an endpoint of its own, leaving out what the version lacks', () => {
    assert.deepEqual(resolveRoute(['9', 'demo']).route, { kind: 'list', names: ['zones', 'recent'] });
    assert.deepEqual(resolveRoute(['5', 'demo']).route, { kind: 'list', names: ['zones'] });
    assert.equal(
      codeOf(() => resolveRoute(['5', 'demo', 'recent'])),
      '404 PathNotFound',
    );
  });

  it('an endpoint the configuration lacks is neither listed nor found', () => {
    configured = false;
    assert.deepEqual(resolveRoute(['9', 'demo']).route, { kind: 'list', names: ['zones', 'recent'] });
    assert.equal(
      codeOf(() => resolveRoute(['9', 'demo', 'optional'])),
      '404 PathNotFound',
    );
    configured = true;
    assert.deepEqual(resolveRoute(['9', 'demo']).route, {
      kind: 'list',
      names: ['zones', 'recent', 'optional'],
    });
    assert.equal(resolveRoute(['9', 'demo', 'optional']).route.kind, 'endpoint');
    configured = false;
  });

  it('refuses unknown versions and paths', () => {
    for (const v of ['0', '10', '09', 'x', '9.0']) {
      assert.equal(parseVersion(v), null, v);
      assert.equal(
        codeOf(() => resolveRoute([v, 'nginx'])),
        '404 UnknownVersion',
        v,
      );
    }
    assert.equal(
      codeOf(() => resolveRoute(['9', 'nope'])),
      '404 PathNotFound',
    );
    assert.equal(
      codeOf(() => resolveRoute(['9', 'demo', 'zones', 'one', 'more'])),
      '404 PathNotFound',
    );
  });

  it('refuses a second endpoint at one path, and a renamed parameter', () => {
    assert.throws(() => registerApiEndpoint({ path: ['demo', 'zones'], methods: { GET: ok } }), /twice/);
    assert.throws(
      () => registerApiEndpoint({ path: ['demo', 'zones', '{name}', 'x'], methods: { GET: ok } }),
      /parameter \{zone\}/,
    );
  });
});

describe('fields', () => {
  const nginx = { version: '1', build: 'b', pid: 3 };
  it('filters one object', () => {
    assert.deepEqual(filterFields(nginx, parseFields('version,pid'), 'object'), { version: '1', pid: 3 });
    assert.deepEqual(filterFields(nginx, parseFields(''), 'object'), {});
  });

  it('filters each member of a collection; empty leaves the names', () => {
    const zones = { a: { passed: 1, rejected: 2 }, b: { passed: 3, rejected: 4 } };
    assert.deepEqual(filterFields(zones, parseFields('passed'), 'collection'), {
      a: { passed: 1 },
      b: { passed: 3 },
    });
    assert.deepEqual(filterFields(zones, parseFields(''), 'collection'), { a: {}, b: {} });
    assert.deepEqual(filterFields([{ id: 1, x: 2 }], parseFields('id'), 'collection'), [{ id: 1 }]);
  });
});
