// 100,000 generated requests (random, mutated, smuggling shapes), pipelined over several
// connections: the engine must not crash or hang, and every answer must be well framed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFuzz, SMUGGLING_REQUESTS } from '../../helpers/http_fuzz.ts';
import { type EchoServer, exchange, startEchoServer } from './echo_server.ts';

let server: EchoServer;
before(async () => {
  server = await startEchoServer({
    clientHeaderTimeout: 2000,
    clientBodyTimeout: 2000,
    lingeringTimeout: 200,
  });
});
after(() => server.close());

describe('engine: fuzz', () => {
  it('rejects every smuggling request and closes', async () => {
    for (const req of SMUGGLING_REQUESTS) {
      const ex = await exchange(server.port, [`${req}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`], {
        idleMs: 2000,
      });
      const text = ex.data.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 (400|501|505) /, JSON.stringify(req));
      assert.doesNotMatch(text, /smuggled/, JSON.stringify(req));
      assert.equal(ex.closed, true);
    }
  });

  it('answers 100,000 generated requests with well-framed responses', { timeout: 180_000 }, async () => {
    const stats = await runFuzz({
      host: '127.0.0.1',
      port: server.port,
      count: 100_000,
      seed: 20240601,
      connections: 16,
      batch: 25,
      idleTimeoutMs: 5000,
    });
    assert.deepEqual(stats.failures, []);
    assert.equal(stats.sent, 100_000);
    assert.ok(stats.answered > 50_000, `answered ${stats.answered}`);
    assert.ok((stats.statuses[200] ?? 0) > 0);
    assert.ok((stats.statuses[400] ?? 0) > 0);
  });
});
