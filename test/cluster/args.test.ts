// `zonesync cluster ...` on the command line: the actions, nginx's -c/-p, and what each refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError, parseArgs, parseClusterArgs } from '../../src/cli/args.ts';
import { nthAddress } from '../../src/cluster/runner.ts';

test('runs the cluster by default, with --nodes, -c, -p and --first-address in any form', () => {
  assert.deepEqual(parseClusterArgs([]), { action: 'run' });
  assert.deepEqual(
    parseClusterArgs(['--nodes', '5', '-cconf/x.conf', '-p', 'examples', '--first-address=127.0.0.20']),
    { action: 'run', nodes: 5, conf: 'conf/x.conf', prefix: 'examples', firstAddress: '127.0.0.20' },
  );
});

test('parses the control commands', () => {
  assert.deepEqual(parseClusterArgs(['scale', '4', '-p', 'x']), { action: 'scale', nodes: 4, prefix: 'x' });
  assert.deepEqual(parseClusterArgs(['reload', '-c', 'new.conf']), { action: 'reload', conf: 'new.conf' });
  assert.deepEqual(parseClusterArgs(['status']), { action: 'status' });
  assert.deepEqual(parseClusterArgs(['stop', '-h']), { action: 'stop', help: true });
});

test('refuses what does not apply', () => {
  const refused = (argv: string[], message: string) =>
    assert.throws(
      () => parseClusterArgs(argv),
      (e: Error) => e instanceof CliError && e.message === message,
    );
  refused(['scale'], '"cluster scale" requires a number of nodes');
  refused(['scale', '0'], '"cluster scale" requires a number of nodes');
  refused(['--nodes', 'x'], 'option "--nodes" requires a number of nodes');
  refused(['status', '-c', 'a.conf'], 'invalid option: "-c" for "cluster status"');
  refused(['scale', '3', '--nodes', '4'], 'invalid option: "--nodes" for "cluster scale"');
  refused(['-p'], 'option "-p" requires a value');
  refused(['-t'], 'invalid option: "-t"');
});

test("leaves nginx's flags as they were", () => {
  assert.throws(() => parseArgs(['cluster']), /invalid option: "cluster"/);
  assert.equal(parseArgs(['-tq', '--listen-address', '127.0.0.2']).listenAddress, '127.0.0.2');
});

test('numbers the node addresses from the first one', () => {
  assert.equal(nthAddress('127.0.0.1', 2), '127.0.0.3');
  assert.equal(nthAddress('127.0.0.255', 1), '127.0.1.0');
  assert.throws(() => nthAddress('::1', 1), /not an IPv4 address/);
});
