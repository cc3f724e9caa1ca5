import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ratioChartSvg } from '../../bench/charts.ts';

const CAPTION =
  'Run 2026-11-27T11:01:45.734Z on 2 cores, wrk -t1 -c64 -d3s, 9 interleaved rounds (medians; ratios are medians of per-round ratios). nginx version: nginx/1.22.1';
const HEADER = [
  '| scenario | server | req/s | p99 ms | CPU µs/req | req/s ratio | CPU ratio | p99 ratio |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
];
const SAMPLE = [
  CAPTION,
  '',
  ...HEADER,
  '| return 200 | nginx | 85302 | 1.21 | 11.2 | 1.00 | 1.00 | 1.00 |',
  '| return 200 | zonesync | 44500 | 3.23 | 23.0 | 0.52 | 2.05 | 2.67 |',
  '| static file (1 KiB) | nginx | 47523 | 2.36 | 20.9 | 1.00 | 1.00 | 1.00 |',
  '| static file (1 KiB) | zonesync | 19414 | 6.17 | 52.1 | 0.41 | 2.49 | 2.61 |',
  '',
].join('\n');

describe('ratioChartSvg', () => {
  const svg = ratioChartSvg(SAMPLE, 'HTTP');

  it('draws one group per zonesync row with labelled bars and the caption', () => {
    assert.ok(svg.startsWith('<svg'));
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    for (const s of [
      'return 200',
      'static file (1 KiB)',
      '0.52x',
      '2.05x',
      '2.67x',
      '0.41x',
      '2.49x',
      '2.61x',
    ]) {
      assert.ok(svg.includes(s), s);
    }
    assert.ok(!svg.includes('1.00x'), 'nginx rows are not bars');
    // The caption is wrapped across lines; its words all appear in order.
    const captionText = [
      ...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" font-size="10" fill="#57606a">([^<]*)<\/text>/g),
    ].map((m) => m[1]);
    assert.ok(captionText.join(' ').includes(CAPTION), captionText.join(' '));
    assert.ok(!svg.includes('<script'));
  });

  it('puts the nginx reference line at 1.0x on the bars’ scale', () => {
    const bar = svg.match(
      /<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>return 200: req\/s ratio 0\.52x/,
    );
    assert.ok(bar, 'bar for 0.52x');
    const [x0, w] = [Number(bar[1]), Number(bar[2])];
    const ref = svg.match(/<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"[^>]*stroke-dasharray/);
    assert.ok(ref, 'reference line');
    assert.equal(ref[1], ref[2], 'vertical');
    assert.ok(Math.abs(Number(ref[1]) - (x0 + w / 0.52)) < 1, `${ref[1]} vs ${x0 + w / 0.52}`);
    assert.match(svg, />nginx<\/text>/);
  });

  it('escapes text for XML', () => {
    const row = '| a <b> & "c" | zonesync | 1 | 1 | 1 | 0.50 | 1.50 | 3.20 |';
    const out = ratioChartSvg(['x & y', '', ...HEADER, row].join('\n'), 'T <&>');
    assert.ok(out.includes('a &lt;b&gt; &amp; &quot;c&quot;'));
    assert.ok(out.includes('T &lt;&amp;&gt;'));
    assert.ok(out.includes('x &amp; y'));
    assert.ok(!out.includes('<b>'));
    assert.ok(out.includes('>3.5x<'), 'axis extends to the largest value rounded up to 0.5');
  });

  it('skips malformed lines and says "no results" without zonesync rows', () => {
    const junk = ['| broken | zonesync | 1 |', '| bad | zonesync | 1 | 1 | 1 | x | y | z |', '|||'];
    for (const input of ['', [...HEADER].join('\n'), [...HEADER, ...junk].join('\n')]) {
      const out = ratioChartSvg(input, 'HTTP');
      assert.ok(out.startsWith('<svg'));
      assert.ok(out.includes('no results'), input);
    }
  });
});
