// The README, as a newcomer meets it: clone the repository into a fresh folder, run its "two
// commands" as written, and check that three instances come up, fully meshed (nodes_online = 2 on
// each), and answer the Walkthrough's curl commands (run as written, through `sh`) with what the
// README says; then Ctrl-C, after which no node is left. The commands and the answers are read from
// the clone's README.md, so this test breaks when the README stops being true.
//
// The clone is of the committed HEAD of the repository this file lives in: CI runs in a fresh clone
// already, and uncommitted changes are not what a newcomer gets.
//
// The cluster uses examples/cluster.conf's fixed addresses and ports (127.0.0.1-3, ports 8080-8082,
// 8090, 9000, and the DNS responder at 127.0.0.1:49153): no other test may bind them, and two runs
// of this test (two checkouts tested at once on one machine) must not overlap. A lock directory in
// the temp folder serializes them, and so must every other user of them: bench/startup.ts takes it,
// and test/e2e/zone_sync_tls.test.ts (whose seed configurations bind 127.0.0.1:49153) must too.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDRESSES, alive, busy, lock, TCP_PORTS } from '../helpers/example_cluster_lock.ts';
import { canConnect, httpRequest, waitFor } from '../helpers/instance.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const API_PORT = 8090;
const HTTP_PORT = 8080;

// ---- The README ----

interface Readme {
  /** The two commands, comments removed: `npm install && npm start`, `npm install && npm test`. */
  start: string;
  test: string;
  /** The Walkthrough's blocks: a `sh` block and the `text` block after it. */
  steps: { title: string; script: string; expected: string }[];
  /** The documented `cluster status` command. */
  status: string;
}

/** The text of the `## title` section, up to the next `## ` heading. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README.md has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

const withoutComment = (line: string) => line.replace(/\s+#.*$/, '').trim();

function parseReadme(readme: string): Readme {
  const two = /```sh\n([\s\S]*?)```/.exec(section(readme, 'The two commands'));
  assert.ok(two, 'the two commands are in a sh block');
  const commands = two[1].split('\n').map(withoutComment).filter(Boolean);
  assert.equal(commands.length, 2, `two commands: ${JSON.stringify(commands)}`);
  const start = commands.find((c) => /\bnpm start\b/.test(c));
  const testCommand = commands.find((c) => /\bnpm test\b/.test(c));
  assert.ok(start && testCommand, `an "npm start" and an "npm test" command: ${JSON.stringify(commands)}`);

  const walk = section(readme, 'Walkthrough');
  const blocks = [...walk.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1],
    body: m[2],
    from: m.index,
    to: m.index + m[0].length,
  }));
  const steps: Readme['steps'] = [];
  for (let i = 0; i + 1 < blocks.length; i++) {
    const [sh, text] = [blocks[i], blocks[i + 1]];
    if (sh.lang !== 'sh' || text.lang !== 'text' || walk.slice(sh.to, text.from).trim() !== '') continue;
    const title = /\*\*([^*]+)\*\*[^*]*$/.exec(walk.slice(0, sh.from))?.[1] ?? `step ${steps.length + 1}`;
    steps.push({ title, script: sh.body, expected: text.body });
  }
  assert.equal(steps.length, 3, 'the Walkthrough has three steps, each a sh block and its text answer');
  const status = walk
    .split('\n')
    .map(withoutComment)
    .find((l) => /^bin\/zonesync cluster status\b/.test(l));
  assert.ok(status, 'the Walkthrough documents `bin/zonesync cluster status`');
  return { start, test: testCommand, steps, status };
}

/** The commands of a script or of the runner's printed walkthrough: no comments, no blank lines. */
const commandLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

/** Output as the README shows it: no trailing blanks on a line, no trailing empty lines. */
const shown = (text: string) => text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');

// ---- curl: the real one when installed, else a stand-in for the options the README uses ----

const CURL_SHIM = `
import fs from 'node:fs';
import http from 'node:http';
const args = process.argv.slice(2);
let url, method, data, out = null, write = '', dump = null, cookie;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-s') continue;
  else if (a === '-o') out = args[++i];
  else if (a === '-w') write = args[++i];
  else if (a === '-X') method = args[++i];
  else if (a === '-d') data = args[++i];
  else if (a === '-D') dump = args[++i];
  else if (a === '-b') cookie = args[++i];
  else if (a.startsWith('-')) { process.stderr.write('curl stand-in: unsupported option ' + a + '\\n'); process.exit(2); }
  else url = a;
}
const headers = {};
if (cookie !== undefined) headers.Cookie = cookie;
if (data !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
const req = http.request(url, { method: method ?? (data === undefined ? 'GET' : 'POST'), headers }, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    let head = 'HTTP/' + res.httpVersion + ' ' + res.statusCode + ' ' + res.statusMessage + '\\r\\n';
    for (let i = 0; i < res.rawHeaders.length; i += 2) head += res.rawHeaders[i] + ': ' + res.rawHeaders[i + 1] + '\\r\\n';
    head += '\\r\\n';
    if (dump === '-') process.stdout.write(head);
    else if (dump !== null) fs.writeFileSync(dump, head);
    const body = Buffer.concat(chunks);
    if (out === null || out === '-') process.stdout.write(body);
    else fs.writeFileSync(out, body);
    process.stdout.write(write.replaceAll('%{http_code}', String(res.statusCode)));
  });
});
req.on('error', (e) => { process.stderr.write(e.message + '\\n'); process.exit(7); });
if (data !== undefined) req.write(data);
req.end();
`;

function hasCurl(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** PATH for the walkthrough's scripts: with a `curl` stand-in first when there is no curl. */
function curlPath(dir: string): string {
  if (hasCurl() && process.env.ZONESYNC_TEST_CURL_STANDIN === undefined) return process.env.PATH ?? '';
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'curl-standin.mjs'), CURL_SHIM);
  writeFileSync(
    path.join(bin, 'curl'),
    `#!/bin/sh\nexec '${process.execPath}' '${path.join(bin, 'curl-standin.mjs')}' "$@"\n`,
  );
  chmodSync(path.join(bin, 'curl'), 0o755);
  return `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
}

function sh(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeout = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { cwd, env, timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- The run ----

interface ZoneSyncStatus {
  status: { nodes_online: number };
}

let release: (() => void) | undefined;
let dir = '';
let clone = '';
let readme: Readme;
let env: NodeJS.ProcessEnv;
/** `sh -c "npm install && npm start"`, leader of its own process group. */
let started: ChildProcess | undefined;
let exited: Promise<void> = Promise.resolve();
let output = '';

/** The node pids the runner's banner names. */
function bannerPids(): number[] {
  return [...output.matchAll(/^ {2}node \d+ \([\d.]+\) {2}pid (\d+)/gm)].map((m) => Number(m[1]));
}

function nodePids(): number[] {
  const pids = new Set(bannerPids());
  for (let i = 1; i <= 8; i++) {
    try {
      pids.add(Number(readFileSync(path.join(clone, `examples/nodes/${i}/logs/zonesync.pid`), 'latin1')));
    } catch {
      // No such node.
    }
  }
  return [...pids].filter((p) => Number.isInteger(p) && p > 0);
}

function killEverything(): void {
  if (started?.pid !== undefined && started.exitCode === null && started.signalCode === null) {
    try {
      process.kill(-started.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  if (clone !== '')
    for (const pid of nodePids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
}
process.on('exit', killEverything);

async function online(address: string): Promise<number> {
  const res = await httpRequest(API_PORT, '/api/9/stream/zone_sync', {}, address);
  if (res.status !== 200) return -1;
  return (JSON.parse(res.text) as ZoneSyncStatus).status.nodes_online;
}

const failure = (what: string) => `${what}\n--- npm install && npm start: output ---\n${output}`;

// Explicit timeouts: `npm test`'s --test-timeout (120 s) would otherwise bound the suite and its
// hooks, and the lock may be held by another run for longer.
const LOCK_WAIT_MS = 10 * 60_000;
const FREE_WAIT_MS = 3 * 60_000;

describe('README: clone, the two commands, the walkthrough', {
  concurrency: false,
  timeout: 30 * 60_000,
}, () => {
  before(
    async () => {
      release = await lock(LOCK_WAIT_MS);
      // Another user of these addresses that does not take the lock (a developer's `npm start`).
      let taken: string[] = [];
      await waitFor(
        async () => (taken = await busy()).length === 0,
        FREE_WAIT_MS,
        'the example cluster addresses to be free',
      ).catch(() => {
        throw new Error(`in use by something else: ${taken.join(' ')}`);
      });
      const top = execFileSync('git', ['rev-parse', '--show-toplevel'], {
        cwd: HERE,
        encoding: 'utf8',
      }).trim();
      dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-readme-'));
      clone = path.join(dir, 'zonesync');
      execFileSync('git', ['clone', '--quiet', top, clone], { stdio: ['ignore', 'ignore', 'pipe'] });
      readme = parseReadme(readFileSync(path.join(clone, 'README.md'), 'utf8'));
      env = { ...process.env, PATH: curlPath(dir) };
      // npm run by this suite's `npm test` passes its settings down; the clone gets a plain npm.
      for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
    },
    { timeout: LOCK_WAIT_MS + FREE_WAIT_MS + 120_000 },
  );

  after(
    async () => {
      killEverything();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
      release?.();
    },
    { timeout: 60_000 },
  );

  test('the test command is the one CI runs, on a fresh clone as here', () => {
    // `npm install && npm test` is not run from inside the suite it starts: .ci/run runs it on a
    // fresh clone of main, which is this very check. Here: that .ci/run's command is the README's.
    const ci = readFileSync(path.join(clone, '.ci/run'), 'utf8')
      .split('\n')
      .map(withoutComment)
      .filter((l) => l !== '' && !l.startsWith('#'));
    const [install, run] = readme.test.split('&&').map((c) => c.trim());
    assert.equal(install, 'npm install');
    assert.equal(ci.at(-1), run, ".ci/run ends with the README's test command");
    assert.ok(
      ci.slice(0, -1).some((l) => /^npm (ci|install)\b/.test(l)),
      '.ci/run installs the dependencies before',
    );
    const pkg = JSON.parse(readFileSync(path.join(clone, 'package.json'), 'utf8'));
    assert.ok(pkg.scripts.test, 'package.json has a test script');
    // What the README says `npm start` runs is what it runs.
    const text = readFileSync(path.join(clone, 'README.md'), 'utf8');
    assert.ok(text.includes(`\`npm start\` runs \`${pkg.scripts.start}\``), pkg.scripts.start);
  });

  test('npm install && npm start: three instances, fully meshed', { timeout: 600_000 }, async (t) => {
    // `A && B` as two steps, so that the addresses are checked free again just before `npm start`:
    // something outside this test (another checkout's suite) may take 127.0.0.1:49153 meanwhile.
    const [install, start, ...rest] = readme.start.split('&&').map((c) => c.trim());
    assert.deepEqual([install, start, rest], ['npm install', 'npm start', []], readme.start);
    const installed = await sh(install, clone, env, 300_000);
    assert.equal(installed.code, 0, `${install}: ${installed.stdout}${installed.stderr}`);
    output = installed.stdout + installed.stderr;
    // An address taken by someone else between the check and the bind is no fault of the README's:
    // start again (at most twice) once it is free.
    for (let attempt = 1; ; attempt++) {
      await waitFor(
        async () => (await busy()).length === 0,
        FREE_WAIT_MS,
        'the example addresses to be free',
      );
      const proc = spawn('sh', ['-c', start], {
        cwd: clone,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started = proc;
      exited = new Promise((resolve) => proc.on('exit', () => resolve()));
      const from = output.length;
      proc.stdout?.on('data', (d) => {
        output += d;
      });
      proc.stderr?.on('data', (d) => {
        output += d;
      });
      const ended = () => proc.exitCode !== null || proc.signalCode !== null;
      await waitFor(
        () => ended() || /^Try it:$/m.test(output.slice(from)),
        120_000,
        'the cluster banner',
      ).catch((e: Error) => {
        throw new Error(failure(e.message));
      });
      if (!ended()) break;
      if (attempt < 3 && /EADDRINUSE/.test(output.slice(from))) {
        t.diagnostic(`attempt ${attempt}: an address was taken meanwhile; starting again`);
        continue;
      }
      assert.fail(failure(`"${start}" exited with ${proc.exitCode ?? proc.signalCode}`));
    }
    assert.equal(bannerPids().length, 3, failure('three nodes in the banner'));
    for (const address of ADDRESSES)
      await waitFor(
        async () => {
          if (started?.exitCode !== null) throw new Error(`"${start}" exited with ${started?.exitCode}`);
          return (await online(address).catch(() => -1)) === 2;
        },
        30_000,
        `nodes_online = 2 on ${address}`,
      ).catch((e: Error) => {
        throw new Error(failure(e.message));
      });
  });

  test('the Walkthrough lists the commands the cluster prints', () => {
    const printed = commandLines(output.slice(output.indexOf('Try it:') + 'Try it:'.length));
    assert.deepEqual(commandLines(readme.steps.map((s) => s.script).join('\n')), printed);
  });

  test('the Walkthrough: each step answers as the README says', async (t) => {
    for (const [i, step] of readme.steps.entries()) {
      await t.test(step.title, async (st) => {
        let { script, expected } = step;
        // The sticky step: "Run the `for` line again, as often as you like": once more here, with
        // the same cookie; the answers repeat (without the synced session, nodes 2 and 3 would
        // answer from the other backend the second time round).
        if (i === readme.steps.length - 1) {
          script = `${script}\n${commandLines(script).at(-1)}`;
          expected = expected.repeat(2);
        }
        const t0 = performance.now();
        const res = await sh(script, clone, env);
        const elapsed = performance.now() - t0;
        assert.equal(res.code, 0, `${script}\nexited ${res.code}: ${res.stderr}`);
        if (i === 0 && shown(res.stdout) !== shown(expected)) {
          // The rate-limit step, and the README's word on it: the first round is "200 429 429"; a
          // later 200 only as the limit (2r/s: one every 500 ms) allows over the time taken.
          const codes = shown(res.stdout).split(' ');
          assert.equal(codes.length, shown(expected).split(' ').length, res.stdout);
          assert.deepEqual(codes.slice(0, 3), ['200', '429', '429'], res.stdout);
          const passed = codes.filter((c) => c === '200').length;
          assert.ok(
            passed <= 1 + Math.floor(elapsed / 500),
            `${res.stdout}: ${passed} let through in ${Math.round(elapsed)} ms`,
          );
          st.diagnostic(`rate limit: "${shown(res.stdout)}" in ${Math.round(elapsed)} ms`);
          return;
        }
        assert.equal(shown(res.stdout), shown(expected), failure(script));
      });
    }
    // Without the cookie, a node answers from both backends (the claim that makes the step mean something).
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await httpRequest(HTTP_PORT, '/', {}, '127.0.0.2')).text);
    assert.deepEqual([...seen].sort(), ['backend A\n', 'backend B\n']);
  });

  test('`bin/zonesync cluster status -p examples`: every node in sync', async () => {
    const res = await sh(readme.status, clone, env);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.match(/^ {2}peers: 2 of 2 online/gm)?.length, 3, res.stdout);
    assert.doesNotMatch(res.stdout, /catching up/);
  });

  test('Ctrl-C stops every node, then the runner', { timeout: 60_000 }, async () => {
    const pid = started?.pid;
    assert.ok(pid !== undefined);
    const pids = nodePids();
    assert.equal(pids.length, 3);
    // What a Ctrl-C in the terminal does: SIGINT to the foreground process group (sh, npm, the
    // runner); the nodes have groups of their own, and the runner stops them.
    process.kill(-pid, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(failure('npm start still running'))), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    await waitFor(() => pids.every((p) => !alive(p)), 10_000, 'every node process gone');
    // Nothing of the group either, and nothing listens on the cluster's addresses any more.
    assert.throws(() => process.kill(-pid, 0), { code: 'ESRCH' });
    for (const address of ADDRESSES)
      for (const port of TCP_PORTS)
        assert.equal(await canConnect(port, address), false, `${address}:${port}`);
    assert.deepEqual(await busy(), []);
  });
});
