import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfEntry, ConfigError } from '../../../src/config/types.ts';
import { checkUriPart, escapeUri, parseProxyUrl, upstreamUri } from '../../../src/http/modules/proxy_pass.ts';
import type { HttpRequest } from '../../../src/http/types.ts';

const fail = (m: string): never => {
  throw new Error(m);
};
const entry = { name: 'proxy_pass', args: [], file: 'f', line: 1 } as unknown as ConfEntry;

function req(target: string, uri: string, args: string, internal = false): HttpRequest {
  return { parsed: { target }, uri, args, internal } as unknown as HttpRequest;
}

test('parseProxyUrl: host, port, URI part, $proxy_host and $proxy_port', () => {
  const u = parseProxyUrl('http://127.0.0.1:8080/a/b', fail);
  assert.deepEqual(
    [u.host, u.port, u.uri, u.hostHeader, u.proxyPort],
    ['127.0.0.1', 8080, '/a/b', '127.0.0.1:8080', '8080'],
  );
  const d = parseProxyUrl('HTTP://backend', fail);
  assert.deepEqual([d.host, d.port, d.uri, d.hostHeader, d.proxyPort], ['backend', 0, '', 'backend', '80']);
  assert.equal(parseProxyUrl('http://h:80/', fail).hostHeader, 'h');
  assert.equal(parseProxyUrl('http://[::1]:81', fail).hostHeader, '[::1]:81');
  assert.throws(() => parseProxyUrl('ftp://x', fail), /invalid URL prefix in "ftp:\/\/x"/);
  assert.throws(() => parseProxyUrl('http://x:0', fail), /invalid port in upstream "x:0"/);
  assert.throws(() => parseProxyUrl('http://:80', fail), /no host in upstream ":80"/);
});

test('a URI part is refused in regex, named and if locations', () => {
  const withUri = parseProxyUrl('http://h/x', fail);
  for (const name of ['~^/a', '@named', 'if']) {
    assert.throws(
      () => checkUriPart(withUri, name, false, entry),
      (e: unknown) => e instanceof ConfigError && /cannot have URI part/.test(e.message),
    );
  }
  assert.deepEqual(checkUriPart(withUri, '~^/a', true, entry), { location: '' });
  assert.deepEqual(checkUriPart(withUri, '^~/p/', false, entry), { location: '/p/' });
  assert.deepEqual(checkUriPart(withUri, '=/e', false, entry), { location: '/e' });
});

const fresh = { unchanged: true, validLocation: true, quoted: false };

test('upstreamUri: nginx replacement rules', () => {
  const cx = { location: '/p/' };
  // no URI part, unchanged: the raw target
  assert.equal(upstreamUri(req('/p//x?a', '/p/x', 'a'), '', false, cx, fresh), '/p//x?a');
  // no URI part, changed: $uri escaped + args
  assert.equal(
    upstreamUri(req('/p/x', '/p/a b', 'q', true), '', false, cx, { ...fresh, unchanged: false }),
    '/p/a%20b?q',
  );
  // URI part replaces the location prefix
  assert.equal(upstreamUri(req('/p/x/y?z', '/p/x/y', 'z'), '/new/', false, cx, fresh), '/new/x/y?z');
  assert.equal(upstreamUri(req('/p/', '/p/', ''), '/new', false, cx, fresh), '/new');
  // after rewrite ... break: the whole $uri, URI part dropped
  assert.equal(
    upstreamUri(req('/p/x', '/users/1', 'a=b', true), '/new/', false, cx, {
      unchanged: false,
      validLocation: false,
      quoted: false,
    }),
    '/users/1?a=b',
  );
  // variables with a URI part: as evaluated, args not added
  assert.equal(
    upstreamUri(req('/p/x?q', '/p/x', 'q'), '/dyn/path', true, { location: '' }, fresh),
    '/dyn/path',
  );
  // quoted client URI: the decoded tail is escaped again
  assert.equal(
    upstreamUri(req('/p/a%3Fb', '/p/a?b', ''), '/n/', false, cx, { ...fresh, quoted: true }),
    '/n/a%3Fb',
  );
});

test('escapeUri escapes what NGX_ESCAPE_URI does', () => {
  assert.equal(
    escapeUri("/a b#c%d?e\x7f\xe9/ok-_.~!$&'()*+,;=:@"),
    "/a%20b%23c%25d%3Fe%7F%E9/ok-_.~!$&'()*+,;=:@",
  );
});
