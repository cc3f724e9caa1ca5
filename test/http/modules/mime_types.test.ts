import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ConfBlock, ConfEntry } from '../../../src/config/types.ts';
import {
  contentTypeFor,
  DEFAULT_TYPES,
  extensionOf,
  typesFor,
  typesTable,
} from '../../../src/http/modules/mime_types.ts';

function typesEntry(lines: [string, ...string[]][]): ConfEntry {
  const entry: ConfEntry = { name: 'types', args: [], file: 'x', line: 1 };
  entry.block = {
    context: 'types',
    entries: lines.map(([name, ...args]) => ({ name, args, file: 'x', line: 1 })),
    parent: null,
    owner: entry,
  };
  return entry;
}

test('the extension is what follows the last dot of the last segment', () => {
  assert.equal(extensionOf('/a/b.txt'), 'txt');
  assert.equal(extensionOf('/a.b/c'), '');
  assert.equal(extensionOf('/a/.htaccess'), '');
  assert.equal(extensionOf('/x.tar.GZ'), 'GZ');
  assert.equal(extensionOf('/dir/'), '');
});

test('lookups are by lowercased extension, with default_type as the fallback', () => {
  const table = typesTable([
    typesEntry([
      ['text/html', 'HTML', 'htm'],
      ['image/png', 'png'],
    ]),
  ]);
  assert.equal(contentTypeFor('/i.PNG', table, 'text/plain'), 'image/png');
  assert.equal(contentTypeFor('/i.html', table, 'text/plain'), 'text/html');
  assert.equal(contentTypeFor('/i.bin', table, 'application/octet-stream'), 'application/octet-stream');
  assert.equal(contentTypeFor('/README', table, 'text/plain'), 'text/plain');
});

test('a later line wins an extension; several blocks of one level merge', () => {
  const table = typesTable([typesEntry([['text/plain', 'txt']]), typesEntry([['text/x-log', 'txt', 'log']])]);
  assert.equal(table.get('txt'), 'text/x-log');
  assert.equal(table.get('log'), 'text/x-log');
});

test("nearest level with types wins; none anywhere is nginx's 3-type default", () => {
  const http: ConfBlock = {
    context: 'http',
    entries: [typesEntry([['text/css', 'css']])],
    parent: null,
    owner: null,
  };
  const server: ConfBlock = { context: 'server', entries: [], parent: http, owner: null };
  const location: ConfBlock = { context: 'location', entries: [typesEntry([])], parent: server, owner: null };
  assert.equal(typesFor(server).get('css'), 'text/css');
  assert.equal(typesFor(location).size, 0);
  const bare: ConfBlock = { context: 'http', entries: [], parent: null, owner: null };
  assert.equal(typesFor(bare), DEFAULT_TYPES);
  assert.deepEqual(
    [...DEFAULT_TYPES],
    [
      ['html', 'text/html'],
      ['gif', 'image/gif'],
      ['jpg', 'image/jpeg'],
    ],
  );
});

test("examples/mime.types is nginx's standard list", () => {
  const text = readFileSync(new URL('../../../examples/mime.types', import.meta.url), 'utf8');
  assert.match(text, /^\s*text\/html\s+html htm shtml;$/m);
  assert.match(text, /^\s*application\/octet-stream\s+bin exe dll;$/m);
});
