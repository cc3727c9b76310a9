import { describe, expect, it } from 'vitest';
import { ANALYSES, getAnalysis } from '../../../lib/analyses/registry.js';
import { ANALYSIS_KEYS } from '../../../lib/analyses/catalog.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import type { DiffRun } from '../../../lib/diff/ModelDiff.js';
import { chain, gaussian, handRun, jsonRoundTrip, makeRun, mat, pairRun, toBF16, vec } from './builders.js';

const runs: Record<string, DiffRun> = {
  hand: handRun(),
  trajectory: makeRun(chain([3, 4, 0, 0], [0.1, 0.05, 0.02], undefined, [{ step: 0 }, { step: 10 }, { step: 30 }, { step: 60 }])),
  precision: pairRun({ w: mat(gaussian(64, 1), 8, 8) }, { w: mat(toBF16(gaussian(64, 1)), 8, 8, 'BF16') }),
  not_continuation: pairRun({ w: mat(gaussian(400, 1), 20, 20) }, { w: mat(gaussian(400, 2), 20, 20) }),
  integers_only: pairRun({ n: { data: [1], shape: [], dtype: 'I64' } }, { n: { data: [2], shape: [], dtype: 'I64' } }),
  nan: pairRun({ w: mat([1, 2, 3, 4], 2, 2), b: vec([0, 0]) }, { w: mat([1, NaN, 3, Infinity], 2, 2), b: vec([1, 0]) }),
};

describe('registry', () => {
  it('lists the implemented analyses in SPEC order', () => {
    expect(ANALYSES.map((a) => a.key)).toEqual([
      'learning_progress',
      'convergence_analysis',
      'anomaly_detection',
      'gradient_analysis',
      'architecture_comparison',
      'param_efficiency_analysis',
      'memory_analysis',
      'inference_speed_estimate',
      'performance_impact_estimate',
      'quantization_analysis',
      'sort_by_change_magnitude',
      'change_summary',
    ]);
    const positions = ANALYSES.map((a) => ANALYSIS_KEYS.indexOf(a.key));
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    expect(getAnalysis('change_summary')?.key).toBe('change_summary');
    expect(getAnalysis('attention_analysis')).toBeUndefined();
  });

  it('declares what each analysis needs from the diff engine', () => {
    expect(getAnalysis('learning_progress')?.needs).toEqual({ unitNorms: true, dequant: true });
    expect(getAnalysis('convergence_analysis')?.needs).toEqual({ trajectory: true, dequant: true });
    expect(getAnalysis('gradient_analysis')?.needs).toEqual({ dequant: true });
    expect(getAnalysis('change_summary')?.needs).toEqual({ lowRank: true, dequant: true });
    expect(getAnalysis('param_efficiency_analysis')?.needs).toEqual({ unitNorms: true, histograms: true, spectral: true });
    expect(getAnalysis('quantization_analysis')?.needs).toEqual({ dequant: true });
  });

  for (const [name, run] of Object.entries(runs)) {
    it(`every analysis on the "${name}" run: JSON-safe, a reason for every null field, one CLI line without level prefix`, () => {
      for (const a of ANALYSES) {
        const r = a.run({ run, config: DEFAULT_CONFIG });
        expect(jsonRoundTrip(r)).toEqual(r);
        for (const [field, value] of Object.entries(r)) {
          if (value === null) expect(r.reasons[field], `${a.key}.${field}`).toEqual(expect.any(String));
        }
        for (const field of Object.keys(r.reasons)) expect((r as unknown as Record<string, unknown>)[field], `${a.key}.${field}`).toBeNull();
        const lines = a.format(r);
        expect(lines.length).toBe(1);
        expect(lines[0].startsWith(`${a.key}: `)).toBe(true);
        expect(lines[0]).not.toMatch(/^\[|NaN|Infinity|undefined/);
      }
    });
  }
});
