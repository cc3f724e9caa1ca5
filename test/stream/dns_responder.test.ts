// The embedded DNS responder: authoritative A/AAAA answers over UDP and TCP, NODATA for a known
// name without records of the type asked, NXDOMAIN for the rest, records changed at runtime.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import { type DecodedPacket, decode, encode, type Packet, streamEncode } from 'dns-packet';
import { startDnsResponder } from '../helpers/dns.ts';

const query = (name: string, type: 'A' | 'AAAA' | 'TXT', id = 7): Packet => ({
  type: 'query',
  id,
  flags: 0,
  questions: [{ type, name, class: 'IN' }],
});

function askUdp(port: number, packet: Packet): Promise<DecodedPacket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('message', (msg) => {
      socket.close();
      resolve(decode(msg) as DecodedPacket);
    });
    socket.send(encode(packet), port, '127.0.0.1');
  });
}

function askTcp(port: number, packet: Packet): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.destroy();
        resolve(decode(received.subarray(2)) as DecodedPacket);
      }
    });
    socket.write(streamEncode(packet));
  });
}

/** The rcode nginx reads: the low 4 bits of the flags. */
const rcodeOf = (p: DecodedPacket) => (p.flags ?? 0) & 0xf;

test('answers A and AAAA authoritatively, NODATA and NXDOMAIN otherwise, over UDP and TCP', async () => {
  const dns = await startDnsResponder({ ttl: 7 });
  try {
    dns.setRecords('Peers.Test', ['10.0.0.1', 'fd00::1', '10.0.0.2']);
    for (const ask of [askUdp, askTcp]) {
      const a = await ask(dns.port, query('peers.test', 'A'));
      assert.equal(a.id, 7);
      assert.equal(a.flag_aa, true);
      assert.equal(rcodeOf(a), 0);
      assert.deepEqual(
        a.answers?.map((x) => [x.type, 'data' in x ? x.data : null, 'ttl' in x ? x.ttl : null]),
        [
          ['A', '10.0.0.1', 7],
          ['A', '10.0.0.2', 7],
        ],
      );
      const aaaa = await ask(dns.port, query('PEERS.test', 'AAAA'));
      assert.deepEqual(
        aaaa.answers?.map((x) => ('data' in x ? x.data : null)),
        ['fd00::1'],
      );
      const txt = await ask(dns.port, query('peers.test', 'TXT'));
      assert.equal(rcodeOf(txt), 0);
      assert.deepEqual(txt.answers, []);
      assert.equal(rcodeOf(await ask(dns.port, query('other.test', 'A'))), 3);
    }
    dns.setRecords('peers.test', ['10.0.0.9'], 1);
    const changed = await askUdp(dns.port, query('peers.test', 'A'));
    assert.deepEqual(
      changed.answers?.map((x) => ('data' in x ? x.data : null)),
      ['10.0.0.9'],
    );
    dns.deleteRecords('peers.test');
    assert.equal(rcodeOf(await askUdp(dns.port, query('peers.test', 'A'))), 3);
    assert.equal(dns.queryCount('peers.test'), 8);
    assert.equal(dns.address, `127.0.0.1:${dns.port}`);
  } finally {
    await dns.close();
  }
});
