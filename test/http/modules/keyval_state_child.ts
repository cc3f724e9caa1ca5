// Child process of the crash-consistency test: rewrites a keyval state file as fast as it can,
// each version holding `version` and 50 pairs whose values all name that version, until killed.
import { Hlc } from '../../../src/core/clock.ts';
import { StateWriter } from '../../../src/http/modules/keyval_state.ts';
import { keyvalZoneType } from '../../../src/http/modules/keyval_store.ts';
import { Zone } from '../../../src/zones/zone.ts';

const file = process.argv[2];
const zone = new Zone({ name: 'one', type: keyvalZoneType, size: 1024 * 1024, sync: false, hlc: new Hlc(1) });
const writer = new StateWriter(zone, file, (level, message) =>
  process.stderr.write(`[${level}] ${message}\n`),
);
const encode = (s: string) => new TextEncoder().encode(s);
for (let version = 1; ; version++) {
  for (let i = 0; i < 50; i++) zone.set(`k${i}`, encode(`v${version}-${'x'.repeat(i * 20)}`));
  zone.set('version', encode(String(version)));
  writer.write();
  if (version === 1) process.stdout.write('ready\n');
}
