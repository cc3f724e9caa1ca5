// The limit_req handler's cost per request, without the HTTP engine: node bench/limit_req.ts
// One limit on a 1m zone, 10,000 distinct 4-byte keys (a full zone evicts), plain and `sync`.
import { Hlc, systemClock } from '../src/core/clock.ts';
import { makeLimit, parseRate } from '../src/http/modules/limit_req_algorithm.ts';
import { limitReqHandler } from '../src/http/modules/limit_req_handler.ts';
import { LimitReqZone, limitReqZoneType } from '../src/http/modules/limit_req_zone.ts';
import { Zone } from '../src/zones/zone.ts';
import { fakeRequest } from '../test/helpers/fake_request.ts';

const N = 300_000;
const KEYS = 10_000;

function run(sync: boolean, keys: number): string {
  const zone = new Zone({
    name: 'one',
    type: limitReqZoneType,
    size: 1024 * 1024,
    sync,
    hlc: new Hlc(1, systemClock),
    log: () => {},
  });
  const key = {
    text: '$k',
    constant: null,
    evaluate: (r: { vars: Map<string, string> }) => r.vars.get('k') ?? '',
  };
  const lrz = new LimitReqZone(zone, key, parseRate('100r/s') as number, systemClock);
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 1_000_000, 'nodelay') }], {
    status: 503,
    logLevel: 'error',
    dryRun: false,
  });
  const requests = Array.from({ length: keys }, (_, i) => {
    const r = fakeRequest();
    r.vars.set('k', String.fromCharCode(10, 0, (i >> 8) & 255, i & 255));
    return r;
  });
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const r = requests[i % keys];
    r.limitReqStatus = undefined;
    // The limits never delay here (nodelay), so the handler answers synchronously.
    void handler(r);
  }
  const ms = performance.now() - start;
  return `| ${sync ? 'sync' : 'plain'} | ${keys} | ${Math.round(N / (ms / 1000)).toLocaleString('en-US')} | ${((ms * 1000) / N).toFixed(2)} |`;
}

console.log('| zone | keys | requests/s | µs/request |\n|---|---:|---:|---:|');
for (const sync of [false, true]) for (const keys of [1, KEYS]) console.log(run(sync, keys));
