import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lexer, type Statement } from '../../src/config/lexer.ts';
import { ConfigError } from '../../src/config/types.ts';

function statements(text: string, commandLine = false): Statement[] {
  const lexer = new Lexer(Buffer.from(text), '/c/nginx.conf', commandLine);
  const out: Statement[] = [];
  for (;;) {
    const st = lexer.next();
    out.push(st);
    if (st.end === 'eof') return out;
  }
}

function words(text: string): string[][] {
  return statements(text)
    .filter((s) => s.words.length > 0)
    .map((s) => s.words);
}

function lexError(text: string, commandLine = false): string {
  try {
    statements(text, commandLine);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.text;
  }
  assert.fail('expected a ConfigError');
}

test('splits words on space, tab, CR and LF; ; { } end statements', () => {
  const sts = statements('a b\tc\r\nd;\nblk x {\n}\n');
  assert.deepEqual(
    sts.map((s) => [s.words, s.end, s.line]),
    [
      [['a', 'b', 'c', 'd'], ';', 2],
      [['blk', 'x'], '{', 3],
      [[], '}', 4],
      [[], 'eof', 5],
    ],
  );
});

test('; and { end a word with no space before them; } does not', () => {
  assert.deepEqual(words('a b;c{'), [['a', 'b'], ['c']]);
  assert.deepEqual(words('a b};'), [['a', 'b}']]);
});

test('# starts a comment only at the start of a word', () => {
  assert.deepEqual(words('# whole line\na b#c; # trailing\n'), [['a', 'b#c']]);
});

test('quotes: escapes \\" \\\' \\\\ \\t \\r \\n are decoded, other backslashes kept', () => {
  assert.deepEqual(words(String.raw`x "a\"b" 'c\'d' "e\\f" "\t\r\n" "\d\$";`), [
    ['x', 'a"b', "c'd", 'e\\f', '\t\r\n', '\\d\\$'],
  ]);
  assert.deepEqual(words(`x "a;b{c}" 'd e';`), [['x', 'a;b{c}', 'd e']]);
  assert.deepEqual(words('x "";'), [['x', '']]);
});

test('unquoted words decode escapes too; a backslash protects ; and {', () => {
  assert.deepEqual(words(String.raw`x a\"b c\;d e\{;`), [['x', 'a"b', 'c\\;d', 'e\\{']]);
});

test('a quote inside an unquoted word is an ordinary character', () => {
  assert.deepEqual(words(`x a"b c'd;`), [['x', 'a"b', "c'd"]]);
});

test('$' + '{name} keeps its braces; $ then { only', () => {
  const dollar = '$';
  assert.deepEqual(words(`x ${dollar}{a}b "${dollar}{b}" $${dollar}{c};`), [
    ['x', `${dollar}{a}b`, `${dollar}{b}`, `$${dollar}{c}`],
  ]);
  assert.deepEqual(words('x $a{'), [['x', '$a']]);
});

test('after a closing quote: space, ;, { or ) may follow', () => {
  assert.deepEqual(words('x "a";'), [['x', 'a']]);
  assert.deepEqual(words('x "a"{'), [['x', 'a']]);
  assert.deepEqual(words('if ($a = "b") {'), [['if', '($a', '=', 'b', ')']]);
  assert.equal(lexError('x "abc"y;'), 'unexpected "y" in /c/nginx.conf:1');
  assert.equal(lexError("x\n'abc'#;"), 'unexpected "#" in /c/nginx.conf:2');
});

test('a statement may not start with ; or {; } may not end one', () => {
  assert.equal(lexError('a;\n;'), 'unexpected ";" in /c/nginx.conf:2');
  assert.equal(lexError('{'), 'unexpected "{" in /c/nginx.conf:1');
  assert.equal(lexError('a b }'), 'unexpected "}" in /c/nginx.conf:1');
});

test('end of file inside a statement or a quote', () => {
  assert.equal(lexError('a b'), 'unexpected end of file, expecting ";" or "}" in /c/nginx.conf:1');
  assert.equal(lexError('a b\n'), 'unexpected end of file, expecting ";" or "}" in /c/nginx.conf:2');
  assert.equal(lexError('a "b;\n\n'), 'unexpected end of file, expecting ";" or "}" in /c/nginx.conf:3');
  assert.equal(lexError('a'), 'unexpected end of file, expecting ";" or "}" in /c/nginx.conf:1');
});

test('line numbers count LFs inside quotes and comments', () => {
  const sts = statements('# one\n"a\nb" c;\nd;');
  assert.deepEqual(
    sts.map((s) => [s.words, s.line]),
    [
      [['a\nb', 'c'], 3],
      [['d'], 4],
      [[], 4],
    ],
  );
});

test('-g text: no line, its own end-of-input message', () => {
  assert.deepEqual(statements('a b;', true)[0], { words: ['a', 'b'], end: ';', line: 0 });
  assert.equal(lexError('daemon off', true), 'unexpected end of parameter, expecting ";" in command line');
  assert.equal(lexError('"a"b;', true), 'unexpected "b" in command line');
});

test('a word longer than nginx 4096-byte buffer is an error, naming its first 10 bytes', () => {
  const long = 'x'.repeat(5000);
  assert.equal(lexError(`a\n${long};\n`), 'too long parameter "xxxxxxxxxx..." started in /c/nginx.conf:2');
  assert.equal(
    lexError(`a\n"${long}";\n`),
    'too long parameter, probably missing terminating """ character in /c/nginx.conf:2',
  );
  assert.equal(
    lexError(`a\n'${long}';\n`),
    `too long parameter, probably missing terminating "'" character in /c/nginx.conf:2`,
  );
  // A comment is one long "word" to nginx's buffer too.
  assert.equal(
    lexError(`a;\n#${'c'.repeat(5000)}\n`),
    'too long parameter "#ccccccccc..." started in /c/nginx.conf:2',
  );
  // Up to 4095 bytes fit; a long word that reaches the end of the file is an end-of-file error.
  assert.deepEqual(words(`a ${'y'.repeat(4095)};\nb;`)[1], ['b']);
  assert.equal(
    lexError(`a ${'y'.repeat(4096)}`),
    'unexpected end of file, expecting ";" or "}" in /c/nginx.conf:1',
  );
  assert.equal(
    lexError(`a ${'y'.repeat(5000)}`),
    'too long parameter "yyyyyyyyyy..." started in /c/nginx.conf:1',
  );
});
