// nginx's command line, parsed as nginx.c's ngx_get_options does: `-c file` or `-cfile`, flags
// may be grouped (`-tq`), and unknown options are `invalid option: "x"`. `zonesync cluster ...`
// has its own small grammar (parseClusterArgs), with nginx's `-c` and `-p`.
import { ConfigError } from '../config/types.ts';

export interface CliOptions {
  help: boolean;
  version: boolean;
  versionFull: boolean;
  test: boolean;
  dump: boolean;
  quiet: boolean;
  prefix?: string;
  conf?: string;
  errorLog?: string;
  params?: string;
  signal?: 'stop' | 'quit' | 'reopen' | 'reload';
  /** zonesync's addition: bind port-only and wildcard listens, and leave for peers, from this address. */
  listenAddress?: string;
}

export class CliError extends Error {}

/** An error as nginx prints it after `zonesync: `: `[emerg] text in FILE:LINE`. */
export function errorText(e: unknown): string {
  if (e instanceof ConfigError) return `[${e.level}] ${e.text}`;
  return `[emerg] ${(e as Error).message}`;
}

const WITH_VALUE: Record<string, keyof CliOptions> = {
  c: 'conf',
  p: 'prefix',
  e: 'errorLog',
  g: 'params',
  s: 'signal',
};

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    help: false,
    version: false,
    versionFull: false,
    test: false,
    dump: false,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--listen-address') {
      const v = argv[++i];
      if (v === undefined) throw new CliError('option "--listen-address" requires an address');
      o.listenAddress = v;
      continue;
    }
    if (arg.startsWith('--listen-address=')) {
      o.listenAddress = arg.slice('--listen-address='.length);
      continue;
    }
    if (arg[0] !== '-' || arg.length < 2) throw new CliError(`invalid option: "${arg}"`);
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j];
      const key = WITH_VALUE[c];
      if (key !== undefined) {
        const rest = arg.slice(j + 1);
        const value = rest !== '' ? rest : argv[++i];
        if (value === undefined) throw new CliError(`option "-${c}" requires ${NEEDS[c]}`);
        if (key === 'signal') {
          if (!['stop', 'quit', 'reopen', 'reload'].includes(value))
            throw new CliError(`invalid option: "-s ${value}"`);
          o.signal = value as CliOptions['signal'];
        } else (o as unknown as Record<string, string>)[key] = value;
        break;
      }
      switch (c) {
        case '?':
        case 'h':
          o.help = true;
          break;
        case 'v':
          o.version = true;
          break;
        case 'V':
          o.version = true;
          o.versionFull = true;
          break;
        case 't':
          o.test = true;
          break;
        case 'T':
          o.test = true;
          o.dump = true;
          break;
        case 'q':
          o.quiet = true;
          break;
        default:
          throw new CliError(`invalid option: "${arg.slice(j)}"`);
      }
    }
  }
  return o;
}

const NEEDS: Record<string, string> = {
  c: 'file name',
  p: 'prefix path',
  e: 'file name',
  g: 'directives',
  s: 'signal',
};

export const USAGE = `Usage: zonesync [-?hvVtTq] [-s signal] [-p prefix]
             [-e filename] [-c filename] [-g directives] [--listen-address address]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and configure options then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the current directory)
  -e filename   : set error log file (default: logs/error.log)
  -c filename   : set configuration file (default: conf/zonesync.conf)
  -g directives : set global directives out of configuration file
  --listen-address address
                : bind port-only and wildcard listens to this address (several
                  instances on one host)

  zonesync cluster ...: a local cluster; \`zonesync cluster -h\` for its commands
`;

export interface ClusterCliOptions {
  action: 'run' | 'scale' | 'reload' | 'status' | 'stop';
  /** `--nodes N` (run), or `scale N`. */
  nodes?: number;
  prefix?: string;
  conf?: string;
  firstAddress?: string;
  help?: boolean;
}

const CLUSTER_ACTIONS = ['scale', 'reload', 'status', 'stop'] as const;

/** `zonesync cluster [ACTION] ...`: `argv` is what follows `cluster`. */
export function parseClusterArgs(argv: readonly string[]): ClusterCliOptions {
  const o: ClusterCliOptions = { action: 'run' };
  const count = (text: string | undefined, what: string): number => {
    if (text === undefined || !/^[1-9][0-9]*$/.test(text))
      throw new CliError(`${what} requires a number of nodes`);
    return Number(text);
  };
  let i = 0;
  const first = argv[0];
  if (first !== undefined && (CLUSTER_ACTIONS as readonly string[]).includes(first)) {
    o.action = first as ClusterCliOptions['action'];
    i = 1;
    if (o.action === 'scale') o.nodes = count(argv[i++], '"cluster scale"');
  }
  for (; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--')
      ? arg.split(/=(.*)/s, 2)
      : [arg.slice(0, 2), arg.slice(2) || undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CliError(`option "${name}" requires a value`);
      return v;
    };
    if (name === '-p') o.prefix = value();
    else if (name === '-c' && (o.action === 'run' || o.action === 'reload')) o.conf = value();
    else if (name === '--nodes' && o.action === 'run') o.nodes = count(value(), 'option "--nodes"');
    else if (name === '--first-address' && o.action === 'run') o.firstAddress = value();
    else if (name === '-h' || name === '-?' || name === '--help') o.help = true;
    else
      throw new CliError(`invalid option: "${arg}"${o.action === 'run' ? '' : ` for "cluster ${o.action}"`}`);
  }
  return o;
}

export const CLUSTER_USAGE = `Usage: zonesync cluster [--nodes N] [-c filename] [-p prefix] [--first-address address]
       zonesync cluster scale N [-p prefix]
       zonesync cluster reload [-c filename] [-p prefix]
       zonesync cluster status [-p prefix]
       zonesync cluster stop [-p prefix]

  Runs N instances (default 3) of one configuration on 127.0.0.1 ... 127.0.0.N, each with its own
  prefix under PREFIX/nodes/, and a DNS responder (at the configuration's stream resolver, default
  127.0.0.1:49153) answering the names zone_sync_server resolves with the running instances.
  The other commands talk to the running cluster through PREFIX/nodes/cluster.sock.
  --first-address address
                : node 1's address (default 127.0.0.1); node N gets the N-th one from it
`;
