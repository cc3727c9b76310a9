/**
 * The diff against the independent float64 numpy oracle in ../shared/models/reference.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffFiles } from '../../lib/diff/diffModels.js';
import type { TensorDiff } from '../../lib/diff/ModelDiff.js';
import { model } from '../helpers/paths.js';

interface OracleRow {
  name: string;
  dtype_a: string;
  dtype_b: string;
  status: string;
  changed_elems: number;
  max_abs_diff: number;
  mean_abs_diff: number;
  /** null when ||A|| = 0 (a zero-initialised tensor). */
  rel_l2: number | null;
  /** null when a norm is 0. */
  cosine: number | null;
  nonfinite_a: number;
  nonfinite_b: number;
  mean_a: number;
  mean_b: number;
}

const PAIRS: [string, string, string][] = [
  ['mlp_ep1__mlp_ep4.json', 'trained/mlp_ep1.safetensors', 'trained/mlp_ep4.safetensors'],
  ['mlp_ep4__mlp_final_fp16.json', 'trained/mlp_ep4.safetensors', 'trained/mlp_final_fp16.safetensors'],
  ['mlp_ep4__mlp_final_naninf.json', 'trained/mlp_ep4.safetensors', 'trained/mlp_final_naninf.safetensors'],
  ['gpt_step0__gpt_step600.json', 'trained/gpt_step0.safetensors', 'trained/gpt_step600.safetensors'],
  ['wakeword_hello_deepa_old__namaste_deepa.json', 'npm/wakeword_hello_deepa_old.safetensors', 'npm/wakeword_namaste_deepa.safetensors'],
];

/** |x - y| <= rel * max(|x|, |y|) + abs */
function close(x: number, y: number, rel: number, abs = 0): boolean {
  return Math.abs(x - y) <= rel * Math.max(Math.abs(x), Math.abs(y)) + abs;
}

describe.each(PAIRS)('%s', (oracleFile, a, b) => {
  it('matches the float64 oracle tensor by tensor', async () => {
    const oracle = JSON.parse(readFileSync(model(`reference/${oracleFile}`), 'utf8')) as OracleRow[];
    const run = await diffFiles([model(a), model(b)]);
    const byName = new Map<string, TensorDiff>(run.overall.tensors.map((t) => [t.name, t]));
    expect(byName.size).toBe(oracle.length);
    for (const o of oracle) {
      const t = byName.get(o.name)!;
      const ctx = `${o.name}`;
      expect(t, ctx).toBeDefined();
      expect(t.status, ctx).toBe(o.status);
      expect(t.dtype, ctx).toEqual([o.dtype_a, o.dtype_b]);
      const d = t.diff!;
      expect(d.changed, ctx).toBe(o.changed_elems);
      expect(close(d.max_abs, o.max_abs_diff, 1e-6), `${ctx} max_abs ${d.max_abs} vs ${o.max_abs_diff}`).toBe(true);
      expect(close(d.mean_abs, o.mean_abs_diff, 1e-5, 1e-12), `${ctx} mean_abs ${d.mean_abs} vs ${o.mean_abs_diff}`).toBe(true);
      if (o.rel_l2 === null) expect(d.rel_l2, `${ctx}: zero A, changed`).toBe(Infinity);
      else expect(close(d.rel_l2, o.rel_l2, 1e-5, 1e-12), `${ctx} rel_l2 ${d.rel_l2} vs ${o.rel_l2}`).toBe(true);
      if (o.cosine === null) expect(d.cosine, ctx).toBeNaN();
      else expect(close(d.cosine, o.cosine, 0, 1e-6), `${ctx} cosine ${d.cosine} vs ${o.cosine}`).toBe(true);
      expect(t.stats.a!.nan + t.stats.a!.inf, ctx).toBe(o.nonfinite_a);
      expect(t.stats.b!.nan + t.stats.b!.inf, ctx).toBe(o.nonfinite_b);
      expect(close(t.stats.a!.mean, o.mean_a, 1e-5, 1e-9), `${ctx} mean_a ${t.stats.a!.mean} vs ${o.mean_a}`).toBe(true);
      expect(close(t.stats.b!.mean, o.mean_b, 1e-5, 1e-9), `${ctx} mean_b ${t.stats.b!.mean} vs ${o.mean_b}`).toBe(true);
    }
  });
});
