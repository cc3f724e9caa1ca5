// A peer that breaks the protocol loses its connection, with the reason logged; nothing of the bad
// frame is applied, and the node's other connections and zones carry on.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CloseCode, FrameDecoder, FrameWriter } from '../../../src/stream/zone_sync/codec.ts';
import { bytes, dial, listen, makeNode, synced, text, until } from './mesh.ts';

const T = Date.now();
const a = makeNode(1, [{ name: 'kv' }]);
const b = makeNode(2, [{ name: 'kv' }]);
let server: net.Server;
let port: number;

before(async () => {
  ({ server, port } = await listen(a));
  await dial(b, port);
  await until(synced(a, b), 'a and b synced');
});

after(async () => {
  a.node.shutdown('test over');
  b.node.shutdown('test over');
  await new Promise((r) => server.close(r));
});

let nextInstance = 100n;

type Attack = (w: FrameWriter) => Uint8Array | undefined;

/**
 * A hand-made peer: handshake done (HELLO, a CATALOGUE with `kv` at index 0), then the attack's
 * frames and raw bytes (and the end of its side of the connection with `hangUp`).
 */
async function misbehave(attack: Attack, handshake = true, hangUp = false): Promise<{ closeCode?: number }> {
  const raw = net.connect({ host: '127.0.0.1', port });
  raw.on('error', () => {});
  const result: { closeCode?: number } = {};
  const decoder = new FrameDecoder();
  raw.on('data', (chunk) => {
    try {
      for (const f of decoder.push(chunk)) if (f.type === 'close') result.closeCode = f.code;
    } catch {
      // Our side only listens.
    }
  });
  const closed = new Promise((resolve) => raw.on('close', resolve));
  await new Promise((resolve) => raw.once('connect', resolve));
  const w = new FrameWriter();
  if (handshake) {
    w.preamble();
    w.hello({
      instanceId: nextInstance++,
      nodeId: Number(nextInstance),
      wall: Date.now(),
      maxFrame: 1 << 20,
      snapshotWindow: 1 << 18,
      timeoutMs: 5000,
      nodeName: 'mallory',
    });
    w.catalogue(1, [{ index: 0, name: 'kv', type: 'keyval', version: 1 }]);
  }
  const extra = attack(w);
  raw.write(w.take());
  if (extra !== undefined) raw.write(extra);
  if (hangUp) raw.end();
  await closed;
  return result;
}

function record(w: FrameWriter, kind: 'records' | 'snapshot-chunk', key: string) {
  w.beginRecords(kind, 0);
  w.record(bytes(key), bytes('evil'), T, 0x99, T + 60_000, false);
  w.endRecords();
}

async function expectProtocolError(reason: RegExp, attack: Attack, handshake = true) {
  const before = a.logs.length;
  const { closeCode } = await misbehave(attack, handshake);
  const logged = a.logs.slice(before).find((l) => l.includes('protocol error from peer'));
  assert.match(logged ?? '(nothing logged)', reason);
  assert.match(logged ?? '', /^\[error\] zone_sync: protocol error from peer .*, closing connection$/);
  if (handshake) assert.equal(closeCode, CloseCode.ProtocolError);
}

describe('zone_sync protocol errors', () => {
  it('RECORDS for a zone index not in the catalogue', () =>
    expectProtocolError(/zone index 3 is not in the peer's catalogue/, (w) => {
      w.beginRecords('records', 3);
      w.record(bytes('x'), bytes('y'), T, 0x99, 0, false);
      w.endRecords();
      return undefined;
    }));

  it('a SNAPSHOT_END whose count differs from its chunks: no record of a bad frame is applied', async () => {
    await expectProtocolError(/counts 5 records, its chunks held 1/, (w) => {
      w.snapshotBegin(0);
      record(w, 'snapshot-chunk', 'chunked');
      w.snapshotEnd(0, 5);
      return undefined;
    });
    // The chunk itself was valid and applied; the bad END only closed the connection.
    assert.equal(text(a.zone('kv').get('chunked')?.value), 'evil');
  });

  it('a frame whose length runs past the limit, before its body is read', () =>
    expectProtocolError(/exceeds the limit of 1048576 bytes/, () => {
      const header = Buffer.alloc(5);
      header.writeUInt32LE(50 * 1024 * 1024);
      header[4] = 0x10;
      return header;
    }));

  it('a reserved flag bit set in the second record of RECORDS: the whole frame is refused', async () => {
    await expectProtocolError(/reserved/, () => {
      const frame = new FrameWriter();
      frame.beginRecords('records', 0);
      frame.record(bytes('good'), bytes('1'), T, 0x99, 0, false);
      frame.record(bytes('bad'), bytes('1'), T, 0x99, 0, false);
      frame.endRecords();
      const out = Buffer.from(frame.take());
      out[out.length - (23 + 3 + 1)] = 0x80;
      return out;
    });
    assert.equal(a.zone('kv').get('good'), undefined, 'no record of the refused frame');
  });

  it('an ACK for more snapshot bytes than are in flight', () =>
    expectProtocolError(/SNAPSHOT_ACK of 1000 bytes with \d+ in flight/, (w) => {
      w.snapshotAck(1000);
      return undefined;
    }));

  it('a TLS ClientHello on the plain-text port', () =>
    expectProtocolError(
      /TLS handshake on a plain-text zone_sync connection/,
      () => Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]),
      false,
    ));

  it('RECORDS before the CATALOGUE', async () => {
    const before = a.logs.length;
    const raw = net.connect({ host: '127.0.0.1', port });
    raw.on('error', () => {});
    await new Promise((resolve) => raw.once('connect', resolve));
    const w = new FrameWriter();
    w.preamble();
    w.hello({
      instanceId: 77n,
      nodeId: 77,
      wall: T,
      maxFrame: 1 << 20,
      snapshotWindow: 1 << 18,
      timeoutMs: 5000,
    });
    record(w, 'records', 'early');
    raw.write(w.take());
    raw.resume();
    await new Promise((resolve) => raw.on('close', resolve));
    assert.ok(a.logs.slice(before).some((l) => l.includes('records frame before CATALOGUE')));
    assert.equal(a.zone('kv').get('early'), undefined);
  });

  it('a frame cut short by the end of the connection: logged as such, nothing of it applied', async () => {
    const before = a.logs.length;
    // A RECORDS frame less its last 5 bytes, after a complete handshake; then the peer hangs up.
    const frame = new FrameWriter();
    record(frame, 'records', 'truncated');
    const whole = Buffer.from(frame.take());
    await misbehave(() => whole.subarray(0, whole.length - 5), true, true);
    await until(() => a.logs.slice(before).some((l) => l.includes('mallory disconnected')), 'the log line');
    const line = a.logs.slice(before).find((l) => l.includes('mallory disconnected'));
    assert.equal(
      line,
      `[notice] zone_sync: peer mallory disconnected: connection closed after ${whole.length - 5} of ${whole.length} bytes of a frame`,
    );
    assert.equal(a.zone('kv').get('truncated'), undefined);
  });

  it('after all that, a and b still sync', async () => {
    assert.equal(a.node.nodesOnline, 1);
    b.zone('kv').set('still', bytes('here'), T + 60_000);
    await until(() => text(a.zone('kv').get('still')?.value) === 'here', 'record after the attacks');
  });
});
