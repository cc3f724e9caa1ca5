import assert from 'node:assert/strict';
import { test } from 'node:test';
import { find } from '../../src/config/tree.ts';
import { coreModule, IGNORED_CORE_DIRECTIVES } from '../../src/core/core_module.ts';
import { errorOf, parseFiles } from '../helpers/nginx_oracle.ts';

const D = coreModule.directives;

test('main directives and their values', () => {
  const { main, prefix } = parseFiles(
    {
      'nginx.conf':
        'daemon on; pid logs/z.pid; worker_processes auto;\nerror_log logs/e.log warn; error_log stderr; error_log syslog:server=x;\nevents { worker_connections 512; }\nhttp {} stream {}\n',
    },
    D,
  );
  assert.equal(find(main, 'daemon')?.value, true);
  assert.equal(find(main, 'pid')?.value, `${prefix}logs/z.pid`);
  assert.equal(find(main, 'worker_processes')?.value, 'auto');
  assert.deepEqual(
    main.entries.filter((e) => e.name === 'error_log').map((e) => e.value),
    [{ path: `${prefix}logs/e.log`, level: 'warn' }, { path: 'stderr', level: 'error' }, null],
  );
  assert.equal(find(find(main, 'events')?.block as never, 'worker_connections')?.value, 512);
  assert.equal(find(main, 'http')?.block?.context, 'http');
  assert.equal(find(main, 'stream')?.block?.context, 'stream');
});

test('ignored directives are accepted with nginx argument counts and values', () => {
  const text = `user nobody nogroup; worker_rlimit_nofile 1024; worker_cpu_affinity auto; worker_priority -5;
worker_shutdown_timeout 10s; pcre_jit on; timer_resolution 100ms; env A; env B=1; lock_file l;
master_process off; working_directory /tmp; thread_pool p threads=4; load_module m.so; ssl_engine e;
debug_points stop; worker_rlimit_core 10m;
events { use epoll; multi_accept on; accept_mutex off; accept_mutex_delay 500ms; worker_aio_requests 32;
  debug_connection 127.0.0.1; debug_connection ::1; }`;
  assert.equal(errorOf({ 'nginx.conf': text }, D), 'ok');
  assert.equal(IGNORED_CORE_DIRECTIVES.length, 23);
  assert.ok(IGNORED_CORE_DIRECTIVES.includes('worker_rlimit_core'));
  assert.ok(IGNORED_CORE_DIRECTIVES.includes('debug_connection'));
});

test('core errors, worded as nginx words them', () => {
  const cases: [string, string][] = [
    ['worker_processes x;', '"worker_processes" directive invalid value in P/nginx.conf:1'],
    ['events { worker_connections x; }', 'invalid number "x" in P/nginx.conf:1'],
    [
      'events { worker_connections 1; worker_connections 2; }',
      '"worker_connections" directive is duplicate in P/nginx.conf:1',
    ],
    ['events { accept_mutex_delay 1x; }', '"accept_mutex_delay" directive invalid value in P/nginx.conf:1'],
    [
      'events { worker_aio_requests 1x; }',
      '"worker_aio_requests" directive invalid number in P/nginx.conf:1',
    ],
    ['worker_rlimit_nofile x;', '"worker_rlimit_nofile" directive invalid number in P/nginx.conf:1'],
    ['worker_priority x;', '"worker_priority" directive invalid number in P/nginx.conf:1'],
    ['worker_rlimit_core x;', '"worker_rlimit_core" directive invalid value in P/nginx.conf:1'],
    ['debug_points x;', 'invalid value "x" in P/nginx.conf:1'],
    ['pid a; pid b;', '"pid" directive is duplicate in P/nginx.conf:1'],
    ['user a; user b;', '"user" directive is duplicate in P/nginx.conf:1'],
    ['http {} http {}', '"http" directive is duplicate in P/nginx.conf:1'],
    ['error_log stderr foo;', 'invalid log level "foo" in P/nginx.conf:1'],
    ['error_log stderr warn info;', 'duplicate log level "info" in P/nginx.conf:1'],
    ['error_log stderr debug_http warn;', 'duplicate log level "warn" in P/nginx.conf:1'],
    ['error_log stderr warn debug_http;', 'invalid log level "debug_http" in P/nginx.conf:1'],
    ['error_log;', 'invalid number of arguments in "error_log" directive in P/nginx.conf:1'],
    ['events { daemon on; }', '"daemon" directive is not allowed here in P/nginx.conf:1'],
    ['thread_pool p;', 'invalid number of arguments in "thread_pool" directive in P/nginx.conf:1'],
  ];
  for (const [text, message] of cases) assert.equal(errorOf({ 'nginx.conf': text }, D), message, text);
});

test('error_log debug_* levels mean debug', () => {
  const { main } = parseFiles({ 'nginx.conf': 'error_log stderr debug_http debug_core;' }, D);
  assert.deepEqual(find(main, 'error_log')?.value, { path: 'stderr', level: 'debug' });
});
