// Writes held for the end of the event loop's I/O phase (held_output.ts): every connection
// gets its own answers, in order, anything written after a held write goes behind it, and a
// held upstream request reports when it is out.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HeldOutput } from '../../../src/http/engine/held_output.ts';
import { type EchoServer, startEchoServer } from './echo_server.ts';

let server: EchoServer;
before(async () => {
  server = await startEchoServer();
});
after(() => server.close());

/** Sends `count` requests one after another on one connection; resolves with the echoed targets. */
function sequential(port: number, id: number, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const targets: string[] = [];
    const ask = () => socket.write(`GET /c${id}/r${targets.length} HTTP/1.1\r\nHost: a\r\n\r\n`);
    socket.on('connect', ask);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      // one response at a time is in flight: it is complete once its Content-Length is here
      const headEnd = data.indexOf('\r\n\r\n');
      const length = Number(/Content-Length: (\d+)/.exec(data.toString('latin1', 0, headEnd))?.[1]);
      if (headEnd < 0 || data.length < headEnd + 4 + length) return;
      targets.push(JSON.parse(data.toString('latin1', headEnd + 4)).target);
      data = Buffer.alloc(0);
      if (targets.length < count) return ask();
      socket.destroy();
      resolve(targets);
    });
  });
}

describe('engine: responses held for the end of the turn', () => {
  it('64 connections with requests in flight at once each get their own answers, in order', {
    timeout: 10_000,
  }, async () => {
    const all = await Promise.all(Array.from({ length: 64 }, (_, id) => sequential(server.port, id, 5)));
    all.forEach((targets, id) => {
      assert.deepEqual(
        targets,
        [0, 1, 2, 3, 4].map((n) => `/c${id}/r${n}`),
      );
    });
  });

  it('a second write goes behind the held one; flush with nothing held does nothing', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const side = await new Promise<net.Socket>((r) => server.once('connection', r));
    let got = '';
    client.on('data', (d) => {
      got += d.toString('latin1');
    });
    const out = new HeldOutput(side, true, () => side.destroy());
    out.flush();
    assert.equal(out.send(Buffer.from('one,')), true);
    assert.equal(out.backlog, 4, 'held bytes count as not yet sent');
    out.send(Buffer.from('two,'));
    out.send(Buffer.from('three'));
    for (let i = 0; i < 100 && got.length < 13; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(got, 'one,two,three');
    out.send(Buffer.from('dropped'));
    out.drop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got, 'one,two,three', 'a dropped response is never sent');
    client.destroy();
    side.destroy();
    server.close();
  });

  it('`written` runs once held bytes are out; a socket destroyed first drops them silently', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const side = await new Promise<net.Socket>((r) => server.once('connection', r));
    const failures: Error[] = [];
    const out = new HeldOutput(side, true, (err) => failures.push(err));
    let written = 0;
    out.send(Buffer.from('request'), () => written++);
    assert.equal(written, 0, 'held until the end of the turn');
    await new Promise((r) => setImmediate(r));
    assert.equal(written, 1);
    out.send(Buffer.from('never'), () => written++);
    side.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(written, 1, 'nothing is reported for bytes that never left');
    assert.deepEqual(failures, []);
    client.destroy();
    server.close();
  });
});
