// Entry point: nginx's command line (`-c -p -e -g -t -T -q -s -v -V`), plus `zonesync cluster`.
// Errors print as nginx prints them (`zonesync: [emerg] ... in FILE:LINE`) and exit 1; never a trace.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterCommand } from '../cluster/command.ts';
import { type CycleOptions, loadCycle, parseCycleConfig, pidPathOf } from '../core/cycle.ts';
import { Gateway } from '../core/gateway.ts';
import { PROGRAM, VERSION } from '../core/version.ts';
import { CliError, type CliOptions, errorText, parseArgs, parseClusterArgs, USAGE } from './args.ts';
import { configureArguments } from './build_info.ts';

const SIGNALS = { stop: 'SIGTERM', quit: 'SIGQUIT', reopen: 'SIGUSR1', reload: 'SIGHUP' } as const;
const SIGNAL_NUMBERS = { SIGTERM: 15, SIGQUIT: 3, SIGUSR1: 10, SIGHUP: 1 } as const;

function err(line: string): void {
  process.stderr.write(`${PROGRAM}: ${line}\n`);
}

function cycleOptions(o: CliOptions): CycleOptions {
  const prefix = path.resolve(o.prefix ?? process.cwd()) + path.sep;
  const conf = o.conf ?? 'conf/zonesync.conf';
  return {
    confFile: path.isAbsolute(conf) ? conf : path.join(prefix, conf),
    prefix,
    params: o.params,
    errorLogOverride: o.errorLog,
    listenAddress: o.listenAddress,
  };
}

function test(o: CliOptions, options: CycleOptions): number {
  try {
    const cycle = loadCycle(options);
    cycle.log.close();
    if (!o.quiet) {
      err(`the configuration file ${options.confFile} syntax is ok`);
      err(`configuration file ${options.confFile} test is successful`);
    }
    if (o.dump) {
      for (const f of cycle.files) process.stdout.write(`# configuration file ${f.path}:\n${f.text}\n`);
    }
    return 0;
  } catch (e) {
    err(errorText(e));
    err(`configuration file ${options.confFile} test failed`);
    return 1;
  }
}

function signal(name: keyof typeof SIGNALS, options: CycleOptions): number {
  let pidPath: string;
  try {
    pidPath = pidPathOf(parseCycleConfig(options).main, options.prefix);
  } catch (e) {
    err(errorText(e));
    return 1;
  }
  let text: string;
  try {
    text = readFileSync(pidPath, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`[error] open() "${pidPath}" failed (${code === 'ENOENT' ? '2: No such file or directory' : code})`);
    return 1;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    err(`[error] invalid PID number "${text.trim()}" in "${pidPath}"`);
    return 1;
  }
  try {
    process.kill(pid, SIGNALS[name]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ESRCH' ? '3: No such process' : (e as Error).message;
    err(`[alert] kill(${pid}, ${SIGNAL_NUMBERS[SIGNALS[name]]}) failed (${code})`);
    return 1;
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let o: CliOptions;
  try {
    if (argv[0] === 'cluster') return await clusterCommand(parseClusterArgs(argv.slice(1)));
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof CliError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
  if (o.version) {
    process.stderr.write(`${PROGRAM} version: ${PROGRAM}/${VERSION}\n`);
    if (o.versionFull)
      process.stderr.write(
        `built with Node.js ${process.versions.node} (OpenSSL ${process.versions.openssl})\nTLS SNI support enabled\nconfigure arguments: ${configureArguments()}\n`,
      );
  }
  if (o.help) process.stderr.write(USAGE);
  if (o.version || o.help) return 0;
  const options = cycleOptions(o);
  if (o.test) return test(o, options);
  if (o.signal) return signal(o.signal, options);
  try {
    await Gateway.start(options);
  } catch (e) {
    err(errorText(e));
    return 1;
  }
  return -1; // running: the process lives until a signal stops it
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    err(`[alert] ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
