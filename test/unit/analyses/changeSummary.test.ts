import { describe, expect, it } from 'vitest';
import { changeSummary, type ChangeSummaryResult } from '../../../lib/analyses/changeSummary.js';
import { UPDATE_PATTERNS } from '../../../lib/analyses/updatePattern.js';
import type { DiffRun } from '../../../lib/diff/ModelDiff.js';
import { config, gaussian, jsonRoundTrip, mat, pairNoise, pairRun, scale, toBF16, vec } from './builders.js';

const summarize = (r: DiffRun, c = config()): ChangeSummaryResult => changeSummary.run({ run: r, config: c });

const g64 = (seed: number) => gaussian(64, seed, 0.1);
const g256 = (seed: number) => gaussian(256, seed, 0.1);

/** One tensor per pattern of SPEC #28, plus a counter, a moved-from-zero bias, a shape change and an unchanged tensor. */
function patternRun(): DiffRun {
  const pruned = Float64Array.from(g64(5));
  for (let i = 0; i < 7; i++) pruned[i * 9] = 0; // 7 of 64 elements newly zero (10.9 %)
  const sparse = Float64Array.from(g64(6));
  for (const i of [1, 20, 40]) sparse[i] += 0.1; // 3 of 64 elements changed (4.7 %)
  const u = gaussian(16, 70);
  const v = gaussian(16, 71);
  const lowRank = Float64Array.from(g256(7), (x, i) => x + 0.05 * u[Math.floor(i / 16)] * v[i % 16]); // rank-1 update
  return pairRun(
    {
      'p.weight': mat(g64(1), 8, 8),
      'r.weight': mat(g64(2), 8, 8),
      'x.weight': mat(g64(3), 8, 8),
      'i.weight': mat(g256(4), 16, 16),
      'z.weight': mat(g64(5), 8, 8),
      's.weight': mat(g64(6), 8, 8),
      'l.weight': mat(g256(7), 16, 16),
      'd.weight': mat(g256(8), 16, 16),
      'b.bias': vec([0, 0, 0, 0]),
      'bn.num_batches_tracked': { data: [100], shape: [], dtype: 'I64' },
      'u.weight': mat(g64(9), 8, 8),
      'head.weight': mat(g64(10).slice(0, 16), 4, 4),
    },
    {
      'p.weight': mat(toBF16(g64(1)), 8, 8, 'BF16'),
      'r.weight': mat(scale(g64(2), 1.5), 8, 8),
      'x.weight': mat(pairNoise(g64(3), 20, 33), 8, 8),
      'i.weight': mat(g256(44), 16, 16),
      'z.weight': mat(pruned, 8, 8),
      's.weight': mat(sparse, 8, 8),
      'l.weight': mat(lowRank, 16, 16),
      'd.weight': mat(pairNoise(g256(8), 0.1, 88), 16, 16),
      'b.bias': vec([0.1, 0.2, -0.1, 0.05]),
      'bn.num_batches_tracked': { data: [200], shape: [], dtype: 'I64' },
      'u.weight': mat(g64(9), 8, 8),
      'head.weight': mat(g64(10).slice(0, 20), 5, 4),
    },
  );
}

describe('change_summary (#28)', () => {
  const r = summarize(patternRun());
  const pattern = (name: string) => r.detail.per_tensor.find((t) => t.name === name)?.pattern;

  it('classifies one tensor per pattern, first rule that holds', () => {
    expect(pattern('p.weight')).toBe('precision_change');
    expect(pattern('r.weight')).toBe('uniform_rescale');
    expect(pattern('x.weight')).toBe('blow_up');
    expect(pattern('i.weight')).toBe('reinitialisation');
    expect(pattern('z.weight')).toBe('pruning');
    expect(pattern('s.weight')).toBe('sparse_update');
    expect(pattern('l.weight')).toBe('low_rank_update');
    expect(pattern('d.weight')).toBe('dense_update');
    expect(r.patterns).toEqual([...UPDATE_PATTERNS]);
  });

  it('reports the evidence of each rule', () => {
    const t = (name: string) => r.detail.per_tensor.find((x) => x.name === name)!;
    expect(t('r.weight').scale).toBeCloseTo(1.5, 12);
    expect(t('r.weight').rescale_residual!).toBeLessThan(1e-12);
    expect(t('x.weight').growth!).toBeGreaterThan(10);
    expect(Math.abs(t('i.weight').cosine!)).toBeLessThan(3 / 16);
    expect(t('z.weight').new_zero_share).toBeCloseTo(7 / 64, 14);
    expect(t('s.weight').changed_share).toBeCloseTo(3 / 64, 14);
    expect(t('l.weight')).toMatchObject({ low_rank_rank: 4 });
    expect(t('l.weight').low_rank_energy!).toBeCloseTo(1, 10);
    expect(t('d.weight').low_rank_energy!).toBeLessThan(0.9);
  });

  it('counts layers_changed over all tensors present in both (counter and shape change included)', () => {
    // p r x i z s l d b.bias num_batches_tracked head.weight (u.weight unchanged)
    expect(r.layers_changed).toBe(11);
    expect(r.detail.apart_changed.map((a) => a.name)).toEqual(['bn.num_batches_tracked']);
    expect(r.detail.structural).toEqual({ added: 0, removed: 0, shape_changed: 1 });
  });

  it('lists most_changed by rel_l2 (top_k), with moved-from-zero tensors apart', () => {
    const top = summarize(patternRun(), config({}, { top_k: 3 }));
    expect(top.most_changed.map((m) => m.tensor)).toEqual(['x.weight', 'i.weight', 'r.weight']);
    expect(top.most_changed[2].rel_l2).toBeCloseTo(0.5, 12);
    expect(top.moved_from_zero).toEqual([{ tensor: 'b.bias', norm_b: Math.hypot(0.1, 0.2, -0.1, 0.05), pattern: 'dense_update' }]);
    expect(jsonRoundTrip(top)).toEqual(top);
    expect(changeSummary.format(top)[0]).toMatch(
      /^change_summary: layers_changed=11, magnitude=[0-9.]+, patterns=\[precision_change, uniform_rescale, blow_up, reinitialisation, pruning, sparse_update, low_rank_update, dense_update\], most_changed=\[x\.weight=[0-9.]+, i\.weight=[0-9.]+, r\.weight=0\.5\]; moved from zero: b\.bias; a dtype change \(F32 -> BF16 on 1 tensor\) happened beside the training step$/,
    );
  });

  it('does not call a small training step a uniform rescale (residual is relative to the update)', () => {
    const w = g256(12);
    const s = summarize(pairRun({ 'fc.weight': mat(w, 16, 16) }, { 'fc.weight': mat(pairNoise(w, 0.005, 13), 16, 16) }));
    const t = s.detail.per_tensor[0];
    expect(1 - t.cosine! ** 2).toBeLessThan(1e-4);
    expect(t.rescale_residual!).toBeGreaterThan(0.9);
    expect(t.pattern).toBe('dense_update');
  });

  it('needs 16 elements for the re-initialisation test', () => {
    const s = summarize(pairRun({ 'head.bias': vec([0.3, -0.2, 0.1]) }, { 'head.bias': vec([-0.3, 0.25, 0.2]) }));
    expect(s.detail.per_tensor[0].pattern).toBe('dense_update');
  });

  it('every numeric field moves between two different runs', () => {
    const a = summarize(pairRun({ w: mat(g64(1), 8, 8), v: mat(g64(2), 8, 8) }, { w: mat(pairNoise(g64(1), 0.1, 3), 8, 8), v: mat(g64(2), 8, 8) }));
    const b = summarize(pairRun({ w: mat(g64(1), 8, 8), v: mat(g64(2), 8, 8) }, { w: mat(pairNoise(g64(1), 0.3, 3), 8, 8), v: mat(pairNoise(g64(2), 0.3, 4), 8, 8) }));
    expect([a.layers_changed, b.layers_changed]).toEqual([1, 2]);
    expect(a.magnitude).not.toBeCloseTo(b.magnitude!, 3);
    expect(a.most_changed[0].rel_l2).not.toBeCloseTo(b.most_changed[0].rel_l2, 3);
    const empty = summarize(pairRun({ n: { data: [1], shape: [], dtype: 'I64' } }, { n: { data: [2], shape: [], dtype: 'I64' } }));
    expect(empty.magnitude).toBeNull();
    expect(empty.reasons.magnitude).toBe('no floating-point tensors present in both inputs with equal shape');
  });
});
