// nginx's command line, parsed as nginx.c's ngx_get_options does: `-c file` or `-cfile`, flags
// may be grouped (`-tq`), and unknown options are `invalid option: "x"`.
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
`;
