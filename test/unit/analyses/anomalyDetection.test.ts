import { describe, expect, it } from 'vitest';
import { anomalyDetection, MIN_SHIFT_POPULATION, type AnomalyResult } from '../../../lib/analyses/anomalyDetection.js';
import type { DiffRun } from '../../../lib/diff/ModelDiff.js';
import { config, gaussian, jsonRoundTrip, makeRun, mat, pairNoise, pairRun, scale, type TensorSpec, vec } from './builders.js';

const detect = (r: DiffRun, c = config()): AnomalyResult => anomalyDetection.run({ run: r, config: c });

const LAYERS = 6;

/** A model of 6 weight matrices [16, 16], their biases and a LayerNorm gain (A side). */
function model(): Record<string, Float64Array> {
  const m: Record<string, Float64Array> = {};
  for (let i = 0; i < LAYERS; i++) {
    m[`blocks.${i}.fc.weight`] = gaussian(256, 100 + i, 0.1);
    m[`blocks.${i}.fc.bias`] = gaussian(16, 200 + i, 0.01);
  }
  m['ln_f.weight'] = Float64Array.from({ length: 16 }, () => 1);
  return m;
}

const spec = (x: Float64Array): TensorSpec => (x.length === 256 ? mat(x, 16, 16) : vec(x));

/** A healthy step (every parameter moves by about 5 %) with `edit` applied to B. */
function step(edit: (b: Record<string, Float64Array>) => void = () => {}, layers = LAYERS): DiffRun {
  const a = model();
  for (let i = layers; i < LAYERS; i++) delete a[`blocks.${i}.fc.weight`];
  const b: Record<string, Float64Array> = {};
  let seed = 300;
  for (const [k, v] of Object.entries(a)) b[k] = pairNoise(v, 0.05, seed++);
  edit(b);
  const toSpecs = (m: Record<string, Float64Array>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, spec(v)]));
  return pairRun(toSpecs(a), toSpecs(b));
}

describe('anomaly_detection (#3)', () => {
  it('finds nothing on a healthy step, and says why the shift test ran', () => {
    const r = detect(step());
    expect([r.type, r.severity, r.affected]).toEqual(['none', 'none', 0]);
    expect(r.level).toBeUndefined();
    expect(r.detail.pairs[0].shift_tested).toBe(true);
    expect(r.detail.pairs[0].median_r).toBeCloseTo(0.05, 2);
    expect(anomalyDetection.format(r)).toEqual(['anomaly_detection: type=none, severity=none, affected=0 layers']);
    // healthy z-scores stay well inside 3.5
    for (const j of r.detail.pairs[0].judged) expect(Math.abs(j.shift_zscore!)).toBeLessThan(2.5);
  });

  it('nan_inf_values is critical and counts every affected tensor, biases included', () => {
    const r = detect(
      step((b) => {
        b['blocks.0.fc.weight'][3] = NaN;
        b['blocks.0.fc.weight'][4] = Infinity;
        b['blocks.2.fc.bias'][0] = -Infinity;
      }),
    );
    expect([r.type, r.severity, r.affected, r.level]).toEqual(['nan_inf_values', 'critical', 2, 'CRITICAL']);
    expect(r.anomalies.map((a) => [a.tensor, a.new_non_finite])).toEqual([
      ['blocks.0.fc.weight', 2],
      ['blocks.2.fc.bias', 1],
    ]);
    expect(anomalyDetection.format(r)).toEqual([
      'anomaly_detection: type=nan_inf_values, severity=critical, affected=2 layers (blocks.0.fc.weight: 2 new non-finite, blocks.2.fc.bias: 1 new non-finite)',
    ]);
  });

  it('gradient_explosion is high at r_t >= 10 and critical at growth >= 1e3', () => {
    const high = detect(step((b) => (b['blocks.3.fc.weight'] = scale(b['blocks.3.fc.weight'], 20))));
    expect([high.type, high.severity, high.affected, high.level]).toEqual(['gradient_explosion', 'high', 1, 'HIGH']);
    expect(high.anomalies[0].tensor).toBe('blocks.3.fc.weight');
    expect(high.anomalies[0].growth).toBeCloseTo(20, 0);
    const crit = detect(step((b) => (b['blocks.3.fc.weight'] = scale(b['blocks.3.fc.weight'], 2000))));
    expect([crit.type, crit.severity]).toEqual(['gradient_explosion', 'critical']);
  });

  it('DIFFAI_ANOMALY_THRESHOLD multiplies upper thresholds and divides lower ones', () => {
    const run15 = step((b) => (b['blocks.3.fc.weight'] = scale(b['blocks.3.fc.weight'], 15)));
    expect(detect(run15).anomalies[0].types).toContain('gradient_explosion');
    const relaxed = detect(run15, config({ anomaly_threshold: 2 }));
    expect(relaxed.anomalies.flatMap((a) => a.types)).not.toContain('gradient_explosion');
    expect(relaxed.detail.factor).toBe(2);
    // frozen: r_t = 6e-7 is below 1e-6 (k = 1) but not below 1e-6 / 2 (k = 2)
    const frozen = step((b) => {
      const a = model()['blocks.1.fc.weight'];
      b['blocks.1.fc.weight'] = pairNoise(a, 6e-7, 9);
    });
    const f1 = detect(frozen);
    expect(f1.anomalies.find((a) => a.tensor === 'blocks.1.fc.weight')?.types).toContain('gradient_vanishing');
    expect(detect(frozen, config({ anomaly_threshold: 2 })).anomalies.find((a) => a.tensor === 'blocks.1.fc.weight')).toBeUndefined();
  });

  it('gradient_vanishing: a frozen matrix while the median moves, but not when everything is still', () => {
    const r = detect(step((b) => (b['blocks.4.fc.weight'] = model()['blocks.4.fc.weight'])));
    expect([r.type, r.severity, r.affected, r.level]).toEqual(['gradient_vanishing', 'medium', 1, 'WARNING']);
    expect(r.anomalies[0]).toMatchObject({ tensor: 'blocks.4.fc.weight', r: 0 });
    // every matrix frozen: the median does not move, nothing is flagged as vanishing
    const still = detect(pairRun({ w: mat(gaussian(256, 1), 16, 16), v: mat(gaussian(256, 2), 16, 16) }, { w: mat(gaussian(256, 1), 16, 16), v: mat(gaussian(256, 2), 16, 16) }));
    expect(still.type).toBe('none');
    expect(still.detail.pairs[0].median_moves).toBe(false);
  });

  it('gradient_vanishing on a std collapse below 0.1x', () => {
    const r = detect(step((b) => (b['blocks.2.fc.weight'] = scale(model()['blocks.2.fc.weight'], 0.05))));
    const a = r.anomalies.find((x) => x.tensor === 'blocks.2.fc.weight')!;
    expect(a.type).toBe('gradient_vanishing');
    expect(a.std_ratio).toBeCloseTo(0.05, 10);
  });

  it('weight_distribution_shift: an RMS-normalised shift that is an outlier (modified z > 3.5)', () => {
    // one matrix gets an offset of 0.3 RMS on every element: shift = 0.3, far above its peers (about 0.005)
    const shifted = (i: number) => (b: Record<string, Float64Array>) => {
      const a = model()[`blocks.${i}.fc.weight`];
      const rms = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
      b[`blocks.${i}.fc.weight`] = a.map((x) => x + 0.3 * rms);
    };
    const r = detect(step(shifted(5)));
    expect([r.type, r.severity, r.affected]).toEqual(['weight_distribution_shift', 'medium', 1]);
    const s = r.anomalies[0];
    expect(s.tensor).toBe('blocks.5.fc.weight');
    expect(s.shift).toBeCloseTo(0.3, 2);
    expect(s.shift_zscore!).toBeGreaterThan(3.5);
    // every other matrix has a z-score near the median
    for (const j of r.detail.pairs[0].judged.filter((x) => x.tensor !== 'blocks.5.fc.weight')) expect(Math.abs(j.shift_zscore!)).toBeLessThan(3.5);
    // with fewer than MIN_SHIFT_POPULATION matrices the test does not run
    const few = detect(step(shifted(3), MIN_SHIFT_POPULATION - 1));
    expect(few.type).toBe('none');
    expect(few.detail.pairs[0].shift_tested).toBe(false);
    expect(few.detail.pairs[0].shift_note).toBe(`needs ${MIN_SHIFT_POPULATION} or more weight matrices with a non-zero shift, found ${MIN_SHIFT_POPULATION - 1}`);
  });

  it('lists zero-initialised tensors apart (infinite r_t), never as anomalies and never as Infinity', () => {
    const r = detect(
      pairRun(
        { 'fc.weight': mat(gaussian(16, 1), 4, 4), 'fc.bias': vec([0, 0, 0, 0]), 'head.weight': mat(new Float64Array(16), 4, 4) },
        { 'fc.weight': mat(pairNoise(gaussian(16, 1), 0.05, 2), 4, 4), 'fc.bias': vec([0.1, 0, 0, -0.1]), 'head.weight': mat(gaussian(16, 3), 4, 4) },
      ),
    );
    expect(r.type).toBe('none');
    expect(r.zero_initialised.map((z) => z.tensor)).toEqual(['fc.bias', 'head.weight']);
    expect(jsonRoundTrip(r)).toEqual(r);
    expect(anomalyDetection.format(r)[0]).toBe('anomaly_detection: type=none, severity=none, affected=0 layers; 2 tensors moved from zero (listed apart)');
  });

  it('does not judge norm gains, biases or integer counters against weight matrices', () => {
    const r = detect(
      pairRun(
        { 'fc.weight': mat(gaussian(16, 1), 4, 4), 'ln.weight': vec([1, 1, 1, 1]), 'bn.num_batches_tracked': { data: [10], shape: [], dtype: 'I64' } },
        { 'fc.weight': mat(pairNoise(gaussian(16, 1), 0.05, 2), 4, 4), 'ln.weight': vec([100, 100, 100, 100]), 'bn.num_batches_tracked': { data: [100000], shape: [], dtype: 'I64' } },
      ),
    );
    expect(r.type).toBe('none');
  });

  it('judges each consecutive step of a trajectory, not first -> last', () => {
    const w0 = gaussian(16, 1);
    const w1 = pairNoise(w0, 0.05, 2);
    const w2 = Float64Array.from(pairNoise(w1, 0.05, 3));
    w2[7] = NaN;
    const r = detect(makeRun([0, 1, 2].map((k) => ({ tensors: { 'fc.weight': mat([w0, w1, w2][k], 4, 4) } }))));
    expect(r.detail.pairs.map((p) => p.pair)).toEqual(['0->1', '1->2']);
    expect(r.anomalies).toEqual([expect.objectContaining({ tensor: 'fc.weight', pair: '1->2', type: 'nan_inf_values', new_non_finite: 1 })]);
  });

  it('every field moves between two different runs', () => {
    const a = detect(step((b) => (b['blocks.3.fc.weight'] = scale(b['blocks.3.fc.weight'], 20))));
    const b = detect(step((x) => ((x['blocks.0.fc.weight'][0] = NaN), (x['blocks.1.fc.weight'][0] = NaN), (x['blocks.2.fc.weight'][0] = NaN))));
    expect([a.type, a.severity, a.affected]).toEqual(['gradient_explosion', 'high', 1]);
    expect([b.type, b.severity, b.affected]).toEqual(['nan_inf_values', 'critical', 3]);
    expect(jsonRoundTrip(b)).toEqual(b);
  });
});
