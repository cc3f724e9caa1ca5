// Config-test fixtures: write configuration files into a fresh prefix, parse them with our
// parser, and (when Debian's nginx is installed) ask `nginx -t` the same question.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ParsedConfig, parseConfig } from '../../src/config/parser.ts';
import { ConfigError, type Context, type DirectiveSpec } from '../../src/config/types.ts';
import {
  flagDirective,
  offsetDirective,
  parseAddress,
  sizeDirective,
  timeDirective,
} from '../../src/config/values.ts';
import { coreModule } from '../../src/core/core_module.ts';

/** A temporary prefix directory (with a trailing slash) holding `files` (name → text). */
export function makePrefix(files: Record<string, string>): string {
  const dir = `${mkdtempSync(join(tmpdir(), 'zonesync-conf-'))}/`;
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(dir + name), { recursive: true });
    writeFileSync(dir + name, text);
  }
  return dir;
}

/** Parse `nginx.conf` (plus any other files) from a fresh prefix. */
export function parseFiles(
  files: Record<string, string>,
  directives: readonly DirectiveSpec[],
  params?: string,
): ParsedConfig & { prefix: string } {
  const prefix = makePrefix(files);
  return { ...parseConfig({ file: 'nginx.conf', prefix, directives, params }), prefix };
}

/** Our error text for `nginx.conf` in `prefix` (`MESSAGE in FILE:LINE`), or 'ok'. */
export function ourError(prefix: string, directives: readonly DirectiveSpec[], params?: string): string {
  try {
    parseConfig({ file: 'nginx.conf', prefix, directives, params });
    return 'ok';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.text;
  }
}

/** Our error for the given files, with the temporary prefix shown as `P/`. */
export function errorOf(
  files: Record<string, string>,
  directives: readonly DirectiveSpec[],
  params?: string,
): string {
  const prefix = makePrefix(files);
  return ourError(prefix, directives, params).split(prefix).join('P/');
}

/** Whether an `nginx` binary is on PATH (CI installs Debian's `nginx` package). */
export function nginxInstalled(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * nginx's verdict on `nginx.conf` in `prefix`: the first emerg/crit message without the log
 * prefix (`2026/11/27 08:34:24 [emerg] 42#42: ` or `nginx: [emerg] `), or 'ok'. `-t` never
 * starts a server, so nothing is left running.
 */
export function nginxError(prefix: string, params?: string): string {
  const args = ['-t', '-q', '-e', 'stderr', '-p', prefix, '-c', 'nginx.conf'];
  if (params !== undefined) args.push('-g', params);
  const run = spawnSync('nginx', args, { encoding: 'utf8' });
  const line = run.stderr.split('\n').find((l) => /\[(emerg|crit)\]/.test(l));
  if (!line) return 'ok';
  return line.replace(/^.*?\[(emerg|crit)\] (\d+#\d+: )?/, '');
}

const HSL: Context[] = ['http', 'server', 'location'];

/** A few nginx OSS http directives, shaped as nginx declares them, on top of the core module. */
export const OSS_TEST_DIRECTIVES: readonly DirectiveSpec[] = [
  ...coreModule.directives,
  { name: 'server', contexts: ['http'], args: [0], block: 'server', multiple: true },
  {
    name: 'listen',
    contexts: ['server'],
    args: '1+',
    multiple: true,
    parse: (e) => parseAddress(e.args[0], 'listen'),
  },
  { name: 'server_name', contexts: ['server'], args: '1+', multiple: true },
  {
    name: 'location',
    contexts: ['server', 'location'],
    args: [1, 2],
    block: 'location',
    multiple: true,
  },
  {
    name: 'if',
    contexts: ['server', 'location'],
    args: '1+',
    block: (parent) => (parent === 'server' ? 'if_server' : 'if_location'),
    multiple: true,
  },
  { name: 'return', contexts: ['server', 'location', 'if_server', 'if_location'], args: [1, 2] },
  { name: 'root', contexts: [...HSL, 'if_location'], args: [1] },
  { name: 'types', contexts: HSL, args: [0], block: 'types', rawBlock: true, multiple: true },
  { name: 'map', contexts: ['http'], args: [2], block: 'map', rawBlock: true, multiple: true },
  timeDirective('keepalive_timeout', HSL),
  offsetDirective('client_max_body_size', HSL),
  sizeDirective('client_body_buffer_size', HSL),
  flagDirective('sendfile', [...HSL, 'if_location']),
];
