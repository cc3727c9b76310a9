/**
 * The library API as an npm consumer uses it: open lazily, per-tensor stats (async and sync), diff,
 * analyses, formatters, abort.
 */
import { describe, expect, it } from 'vitest';
import { compare, diffFiles, formatJson, loadConfig, openModel, tensorStats, tensorStatsSync } from '../../lib/index.js';
import { model } from '../helpers/paths.js';

describe('library API', () => {
  it('opens a model lazily and computes per-tensor stats, async and sync alike', async () => {
    const m = await openModel(model('trained/mlp_ep4.safetensors'));
    try {
      expect(m.format).toBe('safetensors');
      expect(m.tensors.map((t) => t.name).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'head.bias', 'head.weight']);
      const fc1 = m.tensors.find((t) => t.name === 'fc1.weight')!;
      expect(fc1).toMatchObject({ dtype: 'F32', shape: [128, 784], count: 100352 });
      const [s] = await tensorStats([fc1]);
      expect(s.count).toBe(100352);
      // mean of fc1.weight at epoch 4, from the float64 oracle (reference/mlp_ep1__mlp_ep4.json, mean_b)
      expect(s.mean).toBeCloseTo(0.003382378097124483, 9);
      expect(tensorStatsSync([fc1])[0]).toEqual(s);
    } finally {
      m.close();
    }
  });

  it('runs the job of the CLI as one call and formats it', async () => {
    const { config } = loadConfig({ env: {}, cwd: '/', flags: { ml_analysis: { learning_progress: true } } });
    const report = await compare([model('trained/mlp_ep1.safetensors'), model('trained/mlp_ep4.safetensors')], { config });
    expect(report.analyses.map((a) => a.key)).toEqual(['learning_progress']);
    expect(report.analyses[0].result).toMatchObject({ trend: 'improving' });
    expect(JSON.parse(formatJson(report)).analyses.learning_progress.trend).toBe('improving');
  });

  it('reports progress and stops on abort with ERR_ABORTED', async () => {
    const seen: number[] = [];
    const run = await diffFiles([model('trained/gpt_step0.safetensors'), model('trained/gpt_step600.safetensors')], {
      onProgress: (p) => seen.push(p.bytesDone),
    });
    expect(run.overall.summary.changed).toBe(28);
    expect(seen.length).toBeGreaterThan(0);
    const ac = new AbortController();
    ac.abort();
    await expect(diffFiles([model('trained/gpt_step0.safetensors'), model('trained/gpt_step600.safetensors')], { signal: ac.signal })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });
});
