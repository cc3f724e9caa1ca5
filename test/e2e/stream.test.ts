// Stream listeners in a running gateway: a server answers on its address, reloads hand the
// listening sockets over (no connection refused, unneeded ones closed), --listen-address applies.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { canConnect, type Instance, rawExchange, startZonesync, waitFor } from '../helpers/instance.ts';

/** Everything a stream server sends before it closes ('refused' when nothing listens). */
async function read(port: number, host = '127.0.0.1'): Promise<string> {
  try {
    return (await rawExchange(port, '', host, 3000)).toString('latin1');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : String(err);
  }
}

/**
 * Signals may only be sent once the gateway says it started: it installs its handlers after
 * binding, and a SIGHUP before that ends the process (the default action).
 */
async function started(z: Instance): Promise<Instance> {
  await waitFor(() => /zonesync started/.test(z.errorLog()), 10_000, 'start');
  return z;
}

const conf = (text: string, extra = '') =>
  `stream {\n  server { listen 127.0.0.1:{{PORT}}; return "${text}"; }\n${extra}}\n`;

test('a stream server answers, and logs its connections as nginx does', async () => {
  const z = await startZonesync({ conf: conf('hello\\n') });
  try {
    assert.equal(await read(z.port), 'hello\n');
    await waitFor(() => /connected to/.test(z.errorLog()), 3000, 'connection line');
    assert.match(
      z.errorLog(),
      new RegExp(
        `\\[info\\] \\d+#0: \\*\\d+ client 127\\.0\\.0\\.1:\\d+ connected to 127\\.0\\.0\\.1:${z.port}\\n`,
      ),
    );
  } finally {
    await z.stop();
  }
});

test('reloads keep stream listeners that stay, open new ones, close the others, refusing nothing', async () => {
  const z = await started(await startZonesync({ conf: conf('one') }));
  let running = true;
  const failures: string[] = [];
  let done = 0;
  const client = async () => {
    while (running) {
      const text = await read(z.port);
      if (!/^(one|two|three)$/.test(text)) failures.push(text);
      done++;
    }
  };
  const clients = [client(), client(), client()];
  try {
    const second = '  server { listen 127.0.0.1:{{PORT1}}; return "second"; }\n';
    for (const [text, extra] of [
      ['two', second],
      ['three', ''],
      ['two', second],
    ]) {
      z.writeConf(conf(text, extra));
      z.signal('SIGHUP');
      let last = '';
      await waitFor(async () => (last = await read(z.port)) === text, 5000, `config "${text}"`).catch(
        (err) => {
          throw new Error(`${err.message} (read "${last}")\n${z.errorLog().slice(-2000)}`);
        },
      );
      assert.equal(await canConnect(z.ports[1]), extra !== '');
    }
    assert.equal(await read(z.ports[1]), 'second');
    running = false;
    await Promise.all(clients);
    assert.deepEqual(failures, [], `${failures.length} of ${done} connections failed`);
    assert.ok(done > 10, `only ${done} connections ran`);
  } finally {
    running = false;
    await z.stop();
  }
});

test('a reload that cannot bind a stream listener keeps the running configuration', async () => {
  const z = await started(await startZonesync({ conf: conf('kept') }));
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(z.ports[1], '127.0.0.1', resolve));
  try {
    z.writeConf(conf('new', '  server { listen 127.0.0.1:{{PORT1}}; return "x"; }\n'));
    z.signal('SIGHUP');
    await waitFor(() => /\[emerg\]/.test(z.errorLog()), 5000, 'emerg line');
    assert.match(
      z.errorLog(),
      /\[emerg\] \d+#0: bind\(\) to 127\.0\.0\.1:\d+ failed \(98: Address already in use\)/,
    );
    assert.equal(await read(z.port), 'kept');
  } finally {
    busy.close();
    await z.stop();
  }
});

test('--listen-address binds port-only stream listens to one address, so instances share a port', async () => {
  const portOnly = 'stream { server { listen {{PORT}}; return "$ADDR"; } }';
  const a = await startZonesync({ conf: portOnly.replace('$ADDR', 'a'), listenAddress: '127.0.0.2' });
  try {
    const b = await startZonesync({
      conf: portOnly.replace('$ADDR', 'b').replace('{{PORT}}', String(a.port)),
      listenAddress: '127.0.0.3',
      waitPort: false,
    });
    try {
      await waitFor(() => canConnect(a.port, '127.0.0.3'), 15000, 'second instance');
      assert.equal(await read(a.port, '127.0.0.2'), 'a');
      assert.equal(await read(a.port, '127.0.0.3'), 'b');
      assert.equal(await canConnect(a.port, '127.0.0.1'), false);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
  }
});
