// The embedded DNS responder, for tests that need a resolver to answer (and change its answers).
export { type DnsResponder, startDnsResponder } from '../../src/cluster/dns_responder.ts';
