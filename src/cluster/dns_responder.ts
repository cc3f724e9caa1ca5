// An embedded authoritative DNS server for the local cluster and the tests: it answers A and AAAA
// questions for the names it was given, over UDP and TCP on one port, and NXDOMAIN for any other
// name. Records change at runtime, which is how members join and leave a cluster named by DNS
// (NGINXaaS's `internal.nginxaas.nginx.com` behind the resolver at 127.0.0.1:49153).
import dgram from 'node:dgram';
import net from 'node:net';
import {
  type Answer,
  AUTHORITATIVE_ANSWER,
  type DecodedPacket,
  decode,
  encode,
  RECURSION_DESIRED,
  streamEncode,
} from 'dns-packet';

export interface DnsResponderOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port, the same for UDP and TCP. */
  readonly port?: number;
  /** TTL of the answers, in seconds (default 5). */
  readonly ttl?: number;
}

export interface DnsResponder {
  readonly host: string;
  readonly port: number;
  /** `host:port` as a `resolver` directive takes it. */
  readonly address: string;
  /** Set the addresses of `name` (IPv4 and IPv6 mixed); an empty list leaves the name with no records. */
  setRecords(name: string, addresses: readonly string[], ttl?: number): void;
  /** Forget `name`: it is NXDOMAIN again. */
  deleteRecords(name: string): void;
  /** Questions asked for `name` (any type) so far: how tests see what a resolver cached. */
  queryCount(name: string): number;
  close(): Promise<void>;
}

/** DNS rcodes, in the low bits of the flags. */
const NXDOMAIN = 3;
const FORMERR = 1;

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export async function startDnsResponder(options: DnsResponderOptions = {}): Promise<DnsResponder> {
  const host = options.host ?? '127.0.0.1';
  const defaultTtl = options.ttl ?? 5;
  const records = new Map<string, { addresses: string[]; ttl: number }>();
  const counts = new Map<string, number>();

  /** The answer to one query, or null for a packet that is not a query. */
  const answer = (query: DecodedPacket): Parameters<typeof encode>[0] | null => {
    if (query.type !== 'query') return null;
    const questions = query.questions ?? [];
    const answers: Answer[] = [];
    let rcode = questions.length === 1 ? 0 : FORMERR;
    for (const q of questions) {
      const name = canonical(q.name);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const entry = records.get(name);
      if (entry === undefined) {
        rcode = NXDOMAIN;
        continue;
      }
      const family = q.type === 'A' ? 4 : q.type === 'AAAA' ? 6 : 0;
      for (const address of entry.addresses) {
        if (net.isIP(address) !== family) continue;
        answers.push({
          type: q.type as 'A' | 'AAAA',
          name: q.name,
          class: 'IN',
          ttl: entry.ttl,
          data: address,
        });
      }
    }
    const rd = (query.flags ?? 0) & RECURSION_DESIRED;
    return { type: 'response', id: query.id, flags: AUTHORITATIVE_ANSWER | rd | rcode, questions, answers };
  };

  const decodeQuery = (bytes: Buffer): DecodedPacket | null => {
    try {
      return decode(bytes) as DecodedPacket;
    } catch {
      return null; // Not DNS: nothing to say.
    }
  };

  const onUdp = (udp: dgram.Socket) => (msg: Buffer, peer: dgram.RemoteInfo) => {
    const query = decodeQuery(msg);
    const response = query && answer(query);
    if (response) udp.send(encode(response), peer.port, peer.address);
  };
  // DNS over TCP: each message behind its 2-byte length (RFC 1035 4.2.2).
  const onTcp = (socket: net.Socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const query = decodeQuery(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        const response = query && answer(query);
        if (response) socket.write(streamEncode(response));
      }
    });
  };
  const { udp, tcp } = await listenBoth(host, options.port ?? 0, onUdp, onTcp);
  const port = udp.address().port;

  return {
    host,
    port,
    address: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    setRecords(name, addresses, ttl = defaultTtl) {
      records.set(canonical(name), { addresses: [...addresses], ttl });
    },
    deleteRecords(name) {
      records.delete(canonical(name));
    },
    queryCount: (name) => counts.get(canonical(name)) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close();
        tcp.close(() => resolve());
      }),
  };
}

/** Bind UDP, then TCP on the same port; a free port the kernel picked is tried again if TCP has it. */
async function listenBoth(
  host: string,
  port: number,
  onUdp: (udp: dgram.Socket) => (msg: Buffer, peer: dgram.RemoteInfo) => void,
  onTcp: (socket: net.Socket) => void,
): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', onUdp(udp));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve());
    });
    const tcp = net.createServer(onTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, host, resolve);
      });
      return { udp, tcp };
    } catch (err) {
      udp.close();
      if (port !== 0 || attempt === 5) throw err;
    }
  }
}
