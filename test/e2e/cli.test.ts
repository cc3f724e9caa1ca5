// The command line, through the real bin/zonesync: -v -V -t -T -q -g -e -s and bad options.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { canConnect, freePort, runZonesync, startZonesync, waitFor } from '../helpers/instance.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function prefixWith(conf: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-cli-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'logs'));
  mkdirSync(path.join(dir, 'conf'));
  writeFileSync(path.join(dir, 'conf/zonesync.conf'), conf);
  for (const [k, v] of Object.entries(extra)) writeFileSync(path.join(dir, k), v);
  return dir;
}

test('-v prints the version line; -V adds configure arguments naming what is built in and out', async () => {
  const v = await runZonesync(['-v']);
  assert.equal(v.code, 0);
  assert.match(v.stderr, /^zonesync version: zonesync\/\d+\.\d+\.\d+\n$/);
  const V = await runZonesync(['-V']);
  assert.equal(V.code, 0);
  const args = V.stderr.split('\n').find((l) => l.startsWith('configure arguments: '));
  assert.ok(args, V.stderr);
  // What this build lacks must be said, so tools probing an nginx binary do not assume it.
  assert.match(args, /--without-http_gzip_module/);
  assert.match(args, /--without-http_fastcgi_module/);
  assert.doesNotMatch(args, /--without-http_rewrite_module/);
  assert.doesNotMatch(args, /--without-http_map_module/);
});

test("-t on a good configuration prints nginx's two lines; -q silences them", async () => {
  const dir = prefixWith('events {}\nhttp { server { listen 127.0.0.1:1; } }\n');
  const conf = path.join(dir, 'conf/zonesync.conf');
  const r = await runZonesync(['-p', dir, '-t']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    `zonesync: the configuration file ${conf} syntax is ok\nzonesync: configuration file ${conf} test is successful\n`,
  );
  const q = await runZonesync(['-p', dir, '-tq']);
  assert.equal(q.code, 0);
  assert.equal(q.stderr, '');
});

test('-t on a broken configuration names file and line, says the test failed, exits 1', async () => {
  const dir = prefixWith(
    'events {}\nhttp {\n  server {\n    listen 127.0.0.1:1\n    location / { }\n  }\n}\n',
  );
  const conf = path.join(dir, 'conf/zonesync.conf');
  const r = await runZonesync(['-p', dir, '-t']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `zonesync: [emerg] directive "listen" is not terminated by ";" in ${conf}:5\nzonesync: configuration file ${conf} test failed\n`,
  );
  assert.doesNotMatch(r.stderr, /\bat\b.*\.ts/); // never a stack trace
});

test('-T dumps every file read, includes too', async () => {
  const dir = prefixWith('events {}\nhttp { include extra.conf; }\n', {});
  writeFileSync(path.join(dir, 'conf/extra.conf'), 'server { listen 127.0.0.1:1; }\n');
  const r = await runZonesync(['-p', dir, '-T']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `# configuration file ${path.join(dir, 'conf/zonesync.conf')}:\nevents {}\nhttp { include extra.conf; }\n\n` +
      `# configuration file ${path.join(dir, 'conf/extra.conf')}:\nserver { listen 127.0.0.1:1; }\n\n`,
  );
});

test('-g directives are parsed before the file, errors say "in command line"', async () => {
  const dir = prefixWith('events {}\n');
  const ok = await runZonesync(['-p', dir, '-t', '-g', 'worker_processes 2;']);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await runZonesync(['-p', dir, '-t', '-g', 'bogus 1;']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^zonesync: \[emerg\] unknown directive "bogus" in command line\n/);
});

test('an unknown option is refused as nginx refuses it', async () => {
  const r = await runZonesync(['-x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^zonesync: invalid option: "x"\n/);
});

test('-s reload, reopen and stop reach the running process through its pid file', async () => {
  const port = await freePort();
  const conf = (body: string) =>
    `error_log logs/error.log info;\nevents {}\nhttp { access_log off; server { listen 127.0.0.1:${port}; location / { return 200 "${body}"; } } }\n`;
  const dir = prefixWith(conf('one'));
  const { spawn } = await import('node:child_process');
  const { BIN, httpRequest } = await import('../helpers/instance.ts');
  const proc = spawn(BIN, ['-p', dir], { stdio: 'ignore' });
  try {
    await waitFor(() => canConnect(port), 10000, 'listener');
    assert.equal((await httpRequest(port, '/')).text, 'one');
    writeFileSync(path.join(dir, 'conf/zonesync.conf'), conf('two'));
    assert.equal((await runZonesync(['-p', dir, '-s', 'reload'])).code, 0);
    await waitFor(async () => (await httpRequest(port, '/')).text === 'two', 5000, 'reloaded config');
    assert.equal((await runZonesync(['-p', dir, '-s', 'reopen'])).code, 0);
    const exited = new Promise((r) => proc.on('exit', r));
    assert.equal((await runZonesync(['-p', dir, '-s', 'stop'])).code, 0);
    assert.equal(await exited, 0);
    const again = await runZonesync(['-p', dir, '-s', 'stop']);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /\[error\] open\(\) ".*zonesync\.pid" failed \(2: No such file or directory\)/,
    );
  } finally {
    proc.kill('SIGKILL');
  }
});

test("a bind failure is reported in nginx's words and exits 1", async () => {
  const net = await import('node:net');
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as import('node:net').AddressInfo).port;
  try {
    const dir = prefixWith(`events {}\nhttp { server { listen 127.0.0.1:${port}; } }\n`);
    const r = await runZonesync(['-p', dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `zonesync: \\[emerg\\] bind\\(\\) to 127\\.0\\.0\\.1:${port} failed \\(98: Address already in use\\)`,
      ),
    );
  } finally {
    holder.close();
  }
});

test('--listen-address binds port-only listens to one address, so instances share a port', async () => {
  const conf =
    'events {}\nhttp { access_log off; server { listen {{PORT}}; location / { return 200 "$server_addr"; } } }\n';
  const a = await startZonesync({ conf, listenAddress: '127.0.0.2' });
  try {
    // Same configuration, same port, another address: only possible when neither binds the wildcard.
    const conf2 = conf.replace('{{PORT}}', String(a.port));
    const b = await startZonesync({ conf: conf2, listenAddress: '127.0.0.3', waitPort: false });
    try {
      await waitFor(() => canConnect(a.port, '127.0.0.3'), 10000, 'second instance');
      assert.equal((await a.request('/')).text, '127.0.0.2');
      const { httpRequest } = await import('../helpers/instance.ts');
      assert.equal((await httpRequest(a.port, '/', {}, '127.0.0.3')).text, '127.0.0.3');
      assert.equal(await canConnect(a.port, '127.0.0.1'), false);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
  }
});
