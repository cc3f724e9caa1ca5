// nginx's configuration tokenizer, ported from ngx_conf_read_token (src/core/ngx_conf_file.c)
// state for state, so that words, line numbers and error messages come out as `nginx -t` gives them.
// It works on bytes: nginx's 4096-byte read buffer decides when a word is "too long".
import { ConfigError } from './types.ts';

/** What ended a statement: `;`, `{`, a lone `}`, or the end of the input. */
export type Terminator = ';' | '{' | '}' | 'eof';

export interface Statement {
  /** The words before the terminator, unquoted and unescaped (empty for `}` and `eof`). */
  readonly words: string[];
  readonly end: Terminator;
  /** The line the terminator was read on: nginx reports every directive error there. */
  readonly line: number;
}

/** nginx's NGX_CONF_BUFFER: a word that does not fit in one read buffer is an error. */
const CONF_BUFFER = 4096;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;
const HASH = 0x23;
const SEMICOLON = 0x3b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const CLOSE_PAREN = 0x29;

function isSpace(ch: number): boolean {
  return ch === SPACE || ch === TAB || ch === CR || ch === LF;
}

/** The word's bytes with nginx's escapes applied: \" \' \\ drop the backslash, \t \r \n become controls. */
function unescapeWord(buf: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start);
  let len = 0;
  let src = start;
  while (src < end) {
    if (buf[src] === BACKSLASH) {
      const next = buf[src + 1];
      if (next === QUOTE || next === APOSTROPHE || next === BACKSLASH) {
        src++;
      } else if (next === 0x74 /* t */ || next === 0x72 /* r */ || next === 0x6e /* n */) {
        out[len++] = next === 0x74 ? TAB : next === 0x72 ? CR : LF;
        src += 2;
        continue;
      }
    }
    out[len++] = buf[src++];
  }
  return out.toString('utf8', 0, len);
}

export class Lexer {
  /** The current line, as nginx's cf->conf_file->line. */
  private line: number;
  readonly file: string;
  /** `-g` text: no line numbers, no read buffer, and its own end-of-input message. */
  readonly commandLine: boolean;
  private readonly buf: Buffer;
  private pos = 0;
  /** File offset where nginx's read buffer currently ends; reaching it means a refill. */
  private bufferEnd: number;

  constructor(text: Buffer, file: string, commandLine = false) {
    this.buf = text;
    this.file = file;
    this.commandLine = commandLine;
    this.line = 1;
    this.bufferEnd = commandLine ? text.length : Math.min(CONF_BUFFER, text.length);
  }

  private error(message: string): ConfigError {
    return this.commandLine
      ? new ConfigError(message, 'command line')
      : new ConfigError(message, this.file, this.line);
  }

  /** Read words up to the next `;`, `{`, `}` or end of input (ngx_conf_read_token). */
  next(): Statement {
    const buf = this.buf;
    const words: string[] = [];
    let needSpace = false;
    let lastSpace = true;
    let sharpComment = false;
    let variable = false;
    let quoted = false;
    let singleQuoted = false;
    let doubleQuoted = false;
    let start = this.pos;
    let startLine = this.line;
    const done = (end: Terminator): Statement => ({ words, end, line: this.commandLine ? 0 : this.line });

    for (;;) {
      if (this.pos >= this.bufferEnd) {
        if (this.bufferEnd >= buf.length) {
          if (words.length > 0 || !lastSpace) {
            throw this.error(
              this.commandLine
                ? 'unexpected end of parameter, expecting ";"'
                : 'unexpected end of file, expecting ";" or "}"',
            );
          }
          return done('eof');
        }
        // nginx moves the current word to the buffer's start and reads on; a word that
        // already fills the whole buffer cannot be kept.
        if (this.pos - start === CONF_BUFFER) {
          this.line = startLine;
          if (doubleQuoted || singleQuoted) {
            const quote = doubleQuoted ? '"' : "'";
            throw this.error(`too long parameter, probably missing terminating "${quote}" character`);
          }
          throw this.error(`too long parameter "${buf.toString('utf8', start, start + 10)}..." started`);
        }
        this.bufferEnd = Math.min(start + CONF_BUFFER, buf.length);
      }

      const ch = buf[this.pos++];

      if (ch === LF) {
        this.line++;
        sharpComment = false;
      }
      if (sharpComment) continue;
      if (quoted) {
        quoted = false;
        continue;
      }

      if (needSpace) {
        if (isSpace(ch)) {
          lastSpace = true;
          needSpace = false;
          continue;
        }
        if (ch === SEMICOLON) return done(';');
        if (ch === OPEN_BRACE) return done('{');
        if (ch !== CLOSE_PAREN) throw this.error(`unexpected "${String.fromCharCode(ch)}"`);
        // `"a")` as in `if ($x = "a")`: the parenthesis starts a word of its own.
        lastSpace = true;
        needSpace = false;
      }

      if (lastSpace) {
        start = this.pos - 1;
        startLine = this.line;
        if (isSpace(ch)) continue;
        switch (ch) {
          case SEMICOLON:
          case OPEN_BRACE:
            if (words.length === 0) throw this.error(`unexpected "${String.fromCharCode(ch)}"`);
            return done(ch === OPEN_BRACE ? '{' : ';');
          case CLOSE_BRACE:
            if (words.length !== 0) throw this.error('unexpected "}"');
            return done('}');
          case HASH:
            sharpComment = true;
            continue;
          case BACKSLASH:
            quoted = true;
            lastSpace = false;
            continue;
          case QUOTE:
            start++;
            doubleQuoted = true;
            lastSpace = false;
            continue;
          case APOSTROPHE:
            start++;
            singleQuoted = true;
            lastSpace = false;
            continue;
          case DOLLAR:
            variable = true;
            lastSpace = false;
            continue;
          default:
            lastSpace = false;
        }
        continue;
      }

      // `${name}`: a brace right after `$` belongs to the word.
      if (ch === OPEN_BRACE && variable) continue;
      variable = false;
      if (ch === BACKSLASH) {
        quoted = true;
        continue;
      }
      if (ch === DOLLAR) {
        variable = true;
        continue;
      }

      let found = false;
      if (doubleQuoted) {
        if (ch === QUOTE) {
          doubleQuoted = false;
          needSpace = true;
          found = true;
        }
      } else if (singleQuoted) {
        if (ch === APOSTROPHE) {
          singleQuoted = false;
          needSpace = true;
          found = true;
        }
      } else if (isSpace(ch) || ch === SEMICOLON || ch === OPEN_BRACE) {
        lastSpace = true;
        found = true;
      }

      if (found) {
        words.push(unescapeWord(buf, start, this.pos - 1));
        if (ch === SEMICOLON) return done(';');
        if (ch === OPEN_BRACE) return done('{');
      }
    }
  }
}
