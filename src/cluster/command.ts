// `zonesync cluster ...` from the command line: run the cluster in the foreground (until SIGINT or
// SIGTERM stops every node, then the responder; SIGQUIT stops the nodes gracefully), or send one
// command to the runner of the prefix through its control socket.
import path from 'node:path';
import { CLUSTER_USAGE, type ClusterCliOptions, errorText } from '../cli/args.ts';
import { controlPath, type Reply, sendControl } from './control.ts';
import { ClusterRunner } from './runner.ts';

const reply: Reply = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The exit code: a control command's, or the runner's once it stopped. */
export async function clusterCommand(o: ClusterCliOptions): Promise<number> {
  if (o.help) {
    process.stderr.write(CLUSTER_USAGE);
    return 0;
  }
  const prefix = path.resolve(o.prefix ?? process.cwd()) + path.sep;
  // As nginx: a relative -c is relative to the prefix.
  const conf = o.conf === undefined ? undefined : path.resolve(prefix, o.conf);
  const socket = controlPath(prefix);
  // `zonesync cluster status | head`: a reader that went away is not an error.
  if (o.action !== 'run') process.stdout.on('error', () => {});
  if (o.action === 'scale') return sendControl(socket, { cmd: 'scale', nodes: o.nodes ?? 0 }, reply);
  if (o.action === 'reload') return sendControl(socket, { cmd: 'reload', conf }, reply);
  if (o.action === 'status' || o.action === 'stop') return sendControl(socket, { cmd: o.action }, reply);
  try {
    const runner = new ClusterRunner({
      prefix,
      confFile: conf ?? path.join(prefix, 'conf/zonesync.conf'),
      nodes: o.nodes ?? 3,
      firstAddress: o.firstAddress,
    });
    process.on('SIGINT', () => void runner.stop('SIGTERM'));
    process.on('SIGTERM', () => void runner.stop('SIGTERM'));
    process.on('SIGQUIT', () => void runner.stop('SIGQUIT'));
    await runner.start();
    await runner.stopped;
    return 0;
  } catch (e) {
    process.stderr.write(`zonesync: ${errorText(e)}\n`);
    return 1;
  }
}
