// docs/configuration.md must name every directive and variable this build registers, so the reference
// stays true as modules are added: a directive needs a heading or table cell with its name in
// backticks, a variable `$name` (prefix variables `$arg_` and so on, followed by the name's pattern).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IGNORED_CORE_DIRECTIVES } from '../src/core/core_module.ts';
import { IGNORED_HTTP_DIRECTIVES } from '../src/http/modules/core.ts';
import { modules } from '../src/modules.ts';
import { httpCoreVariables } from '../src/variables/http_core.ts';
import type { VariableDef } from '../src/variables/types.ts';

const DOC_PATH = new URL('../docs/configuration.md', import.meta.url);
const doc = readFileSync(DOC_PATH, 'utf8');
const lines = doc.split('\n');

/** Lines where a directive counts as documented: headings and table rows. */
const headingsAndCells = lines.filter((l) => l.startsWith('#') || l.startsWith('|'));

function documented(name: string): boolean {
  const quoted = `\`${name}\``;
  return headingsAndCells.some((l) => {
    if (l.startsWith('#')) return l.includes(quoted);
    return l
      .split('|')
      .map((cell) => cell.trim())
      .some((cell) => cell.startsWith(quoted));
  });
}

test('every directive of every registered module is documented', () => {
  const missing: string[] = [];
  for (const m of modules) {
    for (const d of m.directives) if (!documented(d.name)) missing.push(`${m.name}: ${d.name}`);
  }
  assert.deepEqual(
    missing,
    [],
    `docs/configuration.md lacks a heading or table cell for:\n${missing.join('\n')}`,
  );
});

test('include, handled by the parser itself, is documented', () => {
  assert.ok(documented('include'));
});

test('every registered variable is documented', () => {
  const defs: VariableDef[] = [...httpCoreVariables, ...modules.flatMap((m) => m.variables ?? [])];
  assert.ok(defs.length > 0);
  const missing = defs
    // A prefix variable is written `$arg_`*name*: its name ends in `_`, so the same pattern fits.
    .filter((v) => !doc.includes(`\`$${v.name}\``))
    .map((v) => `$${v.name}${v.prefix ? '*' : ''}`);
  assert.deepEqual(missing, [], `docs/configuration.md lacks:\n${missing.join('\n')}`);
});

test('the ignored-directive lists of the code are in the "Accepted and ignored" table', () => {
  const start = lines.indexOf('## Accepted and ignored');
  assert.ok(start >= 0, 'no "## Accepted and ignored" section');
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const table = lines.slice(start, end < 0 ? undefined : end).filter((l) => l.startsWith('|'));
  const rows = new Set(table.map((l) => l.split('|')[1]?.trim()));
  const missing = [...IGNORED_CORE_DIRECTIVES, ...IGNORED_HTTP_DIRECTIVES].filter(
    (n) => !rows.has(`\`${n}\``),
  );
  assert.deepEqual(missing, [], `"Accepted and ignored" lacks:\n${missing.join('\n')}`);
});
