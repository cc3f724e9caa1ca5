import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IpIndex,
  PrefixIndex,
  parseIpAddress,
  parseIpPrefix,
  parseIpv4,
  parseIpv6,
} from '../../src/zones/keyval_index.ts';

const live = () => true;

describe('address parsing', () => {
  it('reads IPv4 dotted quads and refuses near misses', () => {
    assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    for (const bad of ['10.0.0', '10.0.0.256', '01.2.3.4', '1.2.3.4.5', '', 'a.b.c.d', '1.2.3.-4']) {
      assert.equal(parseIpv4(bad), null, bad);
    }
  });

  it('reads IPv6 with :: and an IPv4 tail', () => {
    assert.equal(parseIpv6('::1'), 1n);
    assert.equal(parseIpv6('::'), 0n);
    assert.equal(parseIpv6('2001:db8::'), 0x20010db8n << 96n);
    assert.equal(parseIpv6('::ffff:1.2.3.4'), (0xffffn << 32n) | 0x01020304n);
    assert.equal(parseIpv6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:2:3:4:5:6:7', 'fe80::1%eth0']) {
      assert.equal(parseIpv6(bad), null, bad);
    }
  });

  it('treats IPv4-mapped addresses and networks as IPv4', () => {
    assert.deepEqual(parseIpAddress('::ffff:10.1.2.3'), { v6: false, value: 0x0a010203, length: 32 });
    assert.deepEqual(parseIpPrefix('::ffff:10.0.0.0/104'), { v6: false, value: 0x0a000000, length: 8 });
  });

  it('masks host bits of a network and refuses bad lengths', () => {
    assert.deepEqual(parseIpPrefix('10.1.2.3/8'), { v6: false, value: 0x0a000000, length: 8 });
    assert.deepEqual(parseIpPrefix('0.0.0.0/0'), { v6: false, value: 0, length: 0 });
    assert.equal(parseIpPrefix('10.0.0.0/33'), null);
    assert.equal(parseIpPrefix('10.0.0.0/'), null);
    assert.equal(parseIpPrefix('::/129'), null);
    assert.equal(parseIpPrefix('example.com'), null);
  });
});

describe('IpIndex: longest prefix match', () => {
  it('picks the most specific stored network, then falls back', () => {
    const index = new IpIndex();
    for (const k of [
      '0.0.0.0/0',
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.1.2.3',
      '2001:db8::/32',
      '2001:db8:1::/48',
    ])
      assert.ok(index.add(k), k);
    assert.equal(index.match('10.1.2.3', live), '10.1.2.3');
    assert.equal(index.match('10.1.2.4', live), '10.1.0.0/16');
    assert.equal(index.match('10.2.0.1', live), '10.0.0.0/8');
    assert.equal(index.match('192.168.0.1', live), '0.0.0.0/0');
    assert.equal(index.match('::ffff:10.1.9.9', live), '10.1.0.0/16', 'mapped lookups are IPv4');
    assert.equal(index.match('2001:db8:1::5', live), '2001:db8:1::/48');
    assert.equal(index.match('2001:db8:2::5', live), '2001:db8::/32');
    assert.equal(index.match('2001:db9::', live), undefined, 'no IPv6 default');
    assert.equal(index.match('not an address', live), undefined);
    assert.equal(index.match('10.0.0.0/8', live), undefined, 'a lookup is an address, not a network');
  });

  it('forgets removed keys; two texts of one network both stay findable', () => {
    const index = new IpIndex();
    index.add('10.0.0.0/8');
    index.add('10.9.9.9/8');
    index.add('10.1.0.0/16');
    index.remove('10.1.0.0/16');
    assert.equal(index.match('10.1.2.3', live), '10.0.0.0/8');
    index.remove('10.0.0.0/8');
    assert.equal(index.match('10.1.2.3', live), '10.9.9.9/8');
    index.remove('10.9.9.9/8');
    assert.equal(index.match('10.1.2.3', live), undefined);
    assert.equal(index.add('nonsense'), false);
  });

  it('drops keys the zone no longer holds (expired) and keeps looking', () => {
    const index = new IpIndex();
    index.add('10.0.0.0/8');
    index.add('10.1.0.0/16');
    const asked: string[] = [];
    const isLive = (k: string) => {
      asked.push(k);
      return k !== '10.1.0.0/16';
    };
    assert.equal(index.match('10.1.2.3', isLive), '10.0.0.0/8');
    assert.equal(index.match('10.1.2.3', isLive), '10.0.0.0/8');
    assert.deepEqual(asked, ['10.1.0.0/16', '10.0.0.0/8', '10.0.0.0/8'], 'the dead key was pruned');
  });
});

describe('PrefixIndex', () => {
  it('finds the longest stored prefix of the lookup key', () => {
    const index = new PrefixIndex();
    for (const k of ['/api', '/api/v1', '/a', '/static/']) index.add(k);
    assert.equal(index.match('/api/v1/users', live), '/api/v1');
    assert.equal(index.match('/api/v2', live), '/api');
    assert.equal(index.match('/api', live), '/api');
    assert.equal(index.match('/b', live), undefined);
    index.remove('/api/v1');
    assert.equal(index.match('/api/v1/users', live), '/api');
    index.clear();
    assert.equal(index.match('/api', live), undefined);
  });
});
