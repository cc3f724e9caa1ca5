import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfEntry, ParseContext } from '../../../src/config/types.ts';
import { parseKeyval, parseKeyvalZone } from '../../../src/http/modules/keyval_conf.ts';

const entry = (name: string, args: string[]): ConfEntry => ({ name, args, file: 'z.conf', line: 3 });
const cx = { resolvePath: (p: string) => (p.startsWith('/') ? p : `/prefix/${p}`) } as ParseContext;
const zone = (...args: string[]) => parseKeyvalZone(entry('keyval_zone', args), cx);

describe('keyval_zone', () => {
  it('reads every parameter', () => {
    assert.deepEqual(zone('zone=one:1m', 'state=state/one.keyval', 'timeout=1h', 'type=ip', 'sync'), {
      name: 'one',
      size: 1024 * 1024,
      state: '/prefix/state/one.keyval',
      timeout: 3_600_000,
      type: 'ip',
      sync: true,
    });
    assert.deepEqual(zone('zone=two:32k'), {
      name: 'two',
      size: 32 * 1024,
      state: null,
      timeout: 0,
      type: 'string',
      sync: false,
    });
  });

  for (const [args, message] of [
    [['state=x'], '"keyval_zone" must have "zone" parameter'],
    [['zone=one'], 'invalid zone size "zone=one"'],
    [['zone=one:big'], 'invalid zone size "zone=one:big"'],
    [['zone=:1m'], 'invalid zone name "zone=:1m"'],
    [['zone=one:16k'], 'zone "one" is too small'],
    [['zone=one:1m', 'zone=two:1m'], 'duplicate "zone" parameter'],
    [['zone=one:1m', 'timeout=0'], 'invalid timeout "timeout=0"'],
    [['zone=one:1m', 'timeout=x'], 'invalid timeout "timeout=x"'],
    [['zone=one:1m', 'type=cidr'], 'invalid type "type=cidr"'],
    [['zone=one:1m', 'state='], 'invalid state file "state="'],
    [['zone=one:1m', 'fast'], 'invalid parameter "fast"'],
    [['zone=one:1m', 'sync'], '"keyval_zone" with "sync" must have "timeout" parameter'],
  ] as const) {
    it(`refuses ${args.join(' ')}`, () => {
      assert.throws(() => zone(...args), { message, file: 'z.conf', line: 3 });
    });
  }
});

describe('keyval', () => {
  it('reads key, variable and zone', () => {
    assert.deepEqual(parseKeyval(entry('keyval', ['$arg_k:$host', '$v', 'zone=one'])), {
      key: '$arg_k:$host',
      variable: 'v',
      zone: 'one',
    });
  });

  for (const [args, message] of [
    [['$k', 'v', 'zone=one'], 'invalid variable name "v"'],
    [['$k', '$', 'zone=one'], 'invalid variable name "$"'],
    [['$k', '$v', 'one'], 'invalid parameter "one"'],
    [['$k', '$v', 'zone='], 'invalid zone name "zone="'],
  ] as const) {
    it(`refuses ${args.join(' ')}`, () => {
      assert.throws(() => parseKeyval(entry('keyval', [...args])), { message });
    });
  }
});
