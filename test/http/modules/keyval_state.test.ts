import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  corruptName,
  decodeState,
  encodeState,
  loadState,
  StateWriter,
} from '../../../src/http/modules/keyval_state.ts';
import { keyvalZoneType } from '../../../src/http/modules/keyval_store.ts';
import { bytes, makeZone, T0, text } from '../../zones/zone_types.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'keyval-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const collect = () => {
  const lines: string[] = [];
  return { lines, log: (level: string, message: string) => lines.push(`[${level}] ${message}`) };
};

describe('keyval state file', () => {
  it('round-trips values, expiry, stamps and tombstones; expired pairs are not loaded', () => {
    const a = makeZone(keyvalZoneType, { node: 1 });
    a.zone.set('plain', bytes('forever'));
    a.zone.set('timed', bytes('soon'), T0 + 5_000);
    a.zone.set('gone', bytes('x'), T0 + 9_000);
    a.zone.delete('gone');
    a.zone.set('expired', bytes('old'), T0 + 1);
    a.clock.advance(10);
    const file = path.join(dir, 'round.json');
    writeFileSync(file, encodeState(a.zone));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(json.plain, 'forever', 'pairs without expiry are plain strings, as the API shows them');
    assert.equal(json.timed.expire_at, T0 + 5_000);
    assert.equal(json.gone.deleted, true);

    const b = makeZone(keyvalZoneType, { node: 2, clock: a.clock });
    const { lines, log } = collect();
    assert.equal(loadState(b.zone, file, log), 3);
    assert.deepEqual(lines, []);
    assert.equal(text(b.zone.get('plain')?.value), 'forever');
    assert.equal(b.zone.get('timed')?.expireAt, T0 + 5_000);
    assert.equal(b.zone.get('timed')?.stamp, a.zone.get('timed')?.stamp, 'the stamp survives');
    assert.equal(b.zone.get('gone'), undefined);
    assert.equal(b.zone.store.get('gone')?.deleted, true, 'the tombstone survives');
    assert.equal(b.zone.store.get('expired'), undefined);
    assert.ok(b.zone.hlc.now() > (a.zone.get('timed')?.stamp ?? 0n), 'later writes order after loaded ones');
  });

  it('loads a hand-written file of plain pairs', () => {
    const file = path.join(dir, 'plain.json');
    writeFileSync(file, '{"a":"1","b":"2"}');
    const { zone } = makeZone(keyvalZoneType);
    assert.equal(
      loadState(zone, file, () => {}),
      2,
    );
    assert.equal(text(zone.get('b')?.value), '2');
  });

  it('a missing file is an empty zone, silently', () => {
    const { zone } = makeZone(keyvalZoneType);
    const { lines, log } = collect();
    assert.equal(loadState(zone, path.join(dir, 'absent.json'), log), 0);
    assert.deepEqual(lines, []);
  });

  for (const [name, content] of [
    ['truncated', '{"a":"1","b":'],
    ['not an object', '["a"]'],
    ['a bad entry', '{"a":{"value":1}}'],
    ['a bad stamp', '{"a":{"value":"1","expire_at":5,"stamp":"x"}}'],
  ]) {
    it(`a file with ${name} is moved aside, logged, never deleted; the zone starts empty`, () => {
      const file = path.join(dir, `corrupt-${name.replaceAll(' ', '-')}.json`);
      writeFileSync(file, content);
      const made = makeZone(keyvalZoneType);
      const { lines, log } = collect();
      assert.equal(loadState(made.zone, file, log), 0);
      assert.equal(existsSync(file), false);
      const aside = corruptName(file, made.clock.now());
      assert.equal(readFileSync(aside, 'utf8'), content, 'kept byte for byte');
      assert.equal(lines.length, 1);
      assert.match(
        lines[0],
        /^\[error\] invalid keyval state file ".*" \(.+\) in keyval zone "one", renamed to ".*\.corrupt-20260101T000000\.000Z"$/,
      );
      assert.equal(made.zone.stats().records, 0);
    });
  }

  it('decodeState says what is wrong', () => {
    assert.throws(() => decodeState('{"k": {"deleted": false}}'), /invalid entry for key "k"/);
    assert.throws(() => decodeState('null'), /not a JSON object/);
  });

  it('the writer coalesces changes and writes them within its delay; flush writes at once', async () => {
    const { zone } = makeZone(keyvalZoneType);
    const file = path.join(dir, 'writer.json');
    const writer = new StateWriter(zone, file, () => {}, 30);
    zone.set('a', bytes('1'));
    zone.set('b', bytes('2'));
    assert.equal(existsSync(file), false, 'not yet');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: '1', b: '2' });
    zone.delete('a');
    writer.flush();
    const flushed = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(flushed.b, '2');
    assert.equal(flushed.a.deleted, true, 'a synced zone keeps the delete');
    writer.close();
    zone.set('c', bytes('3'));
    await new Promise((r) => setTimeout(r, 80));
    assert.equal('c' in JSON.parse(readFileSync(file, 'utf8')), false, 'closed: no more writes');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('writer.json.tmp')),
      [],
    );
  });
});

describe('keyval state file: crash consistency', () => {
  it('SIGKILL at random moments leaves a file that parses and is one whole version', async () => {
    const file = path.join(dir, 'crash.json');
    const child = fileURLToPath(new URL('./keyval_state_child.ts', import.meta.url));
    let lastVersion = 0;
    for (let round = 0; round < 12; round++) {
      const proc = spawn(process.execPath, [child, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      const version = Number(json.version);
      assert.ok(version >= 1, `round ${round}: version ${json.version}`);
      for (let i = 0; i < 50; i++) {
        assert.equal(
          json[`k${i}`],
          `v${version}-${'x'.repeat(i * 20)}`,
          `round ${round}: k${i} of version ${version}`,
        );
      }
      lastVersion = version;
    }
    assert.ok(lastVersion > 0);
  });
});
