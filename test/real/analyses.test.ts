/**
 * The analyses on the real models in ../shared/models (training runs, injected faults, precision
 * changes, two independently trained wake-word heads): what a user must see. The figures quoted were
 * measured on these files (see docs/analyses.md, "Validation on real models").
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../lib/analyses/Analysis.js';
import type { AnomalyResult } from '../../lib/analyses/anomalyDetection.js';
import type { ChangeSummaryResult } from '../../lib/analyses/changeSummary.js';
import type { ConvergenceResult } from '../../lib/analyses/convergenceAnalysis.js';
import type { LearningProgressResult } from '../../lib/analyses/learningProgress.js';
import { ANALYSES } from '../../lib/analyses/registry.js';
import type { AnalysisNeeds } from '../../lib/analyses/Analysis.js';
import { DEFAULT_CONFIG } from '../../lib/config/Config.js';
import { diffFiles } from '../../lib/diff/diffModels.js';
import { model } from '../helpers/paths.js';

const NEEDS: AnalysisNeeds = { unitNorms: true, trajectory: true, lowRank: true, dequant: true };

interface Results {
  lp: LearningProgressResult;
  conv: ConvergenceResult;
  anom: AnomalyResult;
  sum: ChangeSummaryResult;
  lines: string[];
}

async function analyse(...files: string[]): Promise<Results> {
  const run = await diffFiles(
    files.map((f) => model(f)),
    { needs: NEEDS },
  );
  const out: Record<string, AnalysisResult> = {};
  const lines: string[] = [];
  for (const a of ANALYSES) {
    const r = a.run({ run, config: DEFAULT_CONFIG });
    out[a.key] = r;
    lines.push(...a.format(r));
    // every result is JSON as it stands: no NaN, no Infinity, no typed arrays
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }
  return {
    lp: out.learning_progress as LearningProgressResult,
    conv: out.convergence_analysis as ConvergenceResult,
    anom: out.anomaly_detection as AnomalyResult,
    sum: out.change_summary as ChangeSummaryResult,
    lines,
  };
}

const T = 'trained/';

describe('healthy training steps', () => {
  it.each([
    ['mlp_ep0', 'mlp_ep1', 0.9601],
    ['mlp_ep1', 'mlp_ep2', 0.2979],
    ['mlp_ep2', 'mlp_ep4', 0.3128],
    ['gpt_step0', 'gpt_step100', 0.3511],
    ['gpt_step100', 'gpt_step300', 0.564],
    ['gpt_step300', 'gpt_step600', 0.5731],
  ])('%s -> %s: improving, stable, no anomaly, R = %s', async (a, b, R) => {
    const r = await analyse(`${T}${a}.safetensors`, `${T}${b}.safetensors`);
    expect(r.lp.trend).toBe('improving');
    expect(r.lp.magnitude).toBeCloseTo(R, 3);
    expect(r.conv.status).toBe('stable');
    expect(r.anom.type).toBe('none');
    expect(r.sum.patterns).not.toContain('blow_up');
    expect(r.lp.pair_kind).toBe('training');
  });

  it('cnn_ep1 -> cnn_ep3: the I64 num_batches_tracked counters and BatchNorm running stats are not pooled into R', async () => {
    const r = await analyse(`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`);
    expect(r.lp.magnitude).toBeCloseTo(0.2411, 3);
    expect(r.lp.trend).toBe('improving');
    expect(r.anom.type).toBe('none');
    const apart = new Map(r.lp.detail.apart.map((x) => [x.name, x.reason]));
    expect(apart.get('bn1.num_batches_tracked')).toBe('integer');
    expect(apart.get('bn2.running_var')).toBe('buffer');
  });

  it('mlp epochs 0, 1, 2, 4: epoch metadata normalises the unequal last interval; speed = 0.83', async () => {
    const r = await analyse(...['mlp_ep0', 'mlp_ep1', 'mlp_ep2', 'mlp_ep4'].map((f) => `${T}${f}.safetensors`));
    expect(r.lp.detail.intervals).toMatchObject({ unit: 'epoch', positions: [0, 1, 2, 4], assumed_equal: false });
    expect(r.lp.speed).toBeCloseTo(0.8273, 2);
    expect(r.lp.trend).toBe('improving');
    expect(r.conv.status).toBe('stable');
    expect(r.conv.detail.update_cosines.map((c) => c.cosine)).toEqual([expect.closeTo(0.46, 2), expect.closeTo(0.7616, 2)]);
    expect(r.anom.type).toBe('none');
  });

  it('gpt steps 0, 100, 300, 600: step metadata, speed = 0.46, no anomaly on any step', async () => {
    const r = await analyse(...['gpt_step0', 'gpt_step100', 'gpt_step300', 'gpt_step600'].map((f) => `${T}${f}.safetensors`));
    expect(r.lp.detail.intervals.positions).toEqual([0, 100, 300, 600]);
    expect(r.lp.speed).toBeCloseTo(0.4568, 2);
    expect(r.conv.status).toBe('stable');
    expect(r.anom.type).toBe('none');
    expect(r.anom.zero_initialised.length).toBeGreaterThan(0);
  });
});

describe('a real oscillating run (full-batch GD at lr 1.0)', () => {
  it('steps 56..59: oscillating from the last consecutive-update cosine (-0.77)', async () => {
    const r = await analyse(...[56, 57, 58, 59].map((s) => `${T}osc/gd_lr1.0_step${s}.safetensors`));
    expect(r.conv.detail.update_cosines.map((c) => c.cosine)).toEqual([expect.closeTo(-0.3211, 2), expect.closeTo(-0.7706, 2)]);
    expect(r.conv.status).toBe('oscillating');
    expect(r.conv.level).toBe('WARNING');
    expect(r.lp.speed).toBe(0); // the steps grow: 0.0173, 0.0331, 0.0391
  });

  it('two of its checkpoints alone cannot show oscillation', async () => {
    const r = await analyse(`${T}osc/gd_lr1.0_step58.safetensors`, `${T}osc/gd_lr1.0_step59.safetensors`);
    expect(r.conv.status).toBe('stable');
    expect(r.conv.detail.oscillation.note).toBe('needs 3 or more checkpoints');
  });
});

describe('injected faults', () => {
  it('mlp exploded: gradient_explosion, critical, naming fc2.weight', async () => {
    const r = await analyse(`${T}mlp_ep4.safetensors`, `${T}mlp_final_exploded.safetensors`);
    expect([r.anom.type, r.anom.severity, r.anom.affected]).toEqual(['gradient_explosion', 'critical', 1]);
    expect(r.anom.anomalies[0].tensor).toBe('fc2.weight');
    expect(r.anom.anomalies[0].growth).toBeCloseTo(1e4, -1);
    expect(r.lp.trend).toBe('degrading');
    expect(r.conv.status).toBe('diverging');
    expect(r.lines).toContain('anomaly_detection: type=gradient_explosion, severity=critical, affected=1 layer (fc2.weight: growth=10000, r=9999)');
  });

  it('gpt exploded: gradient_explosion naming blocks.1.attn.in_proj_weight', async () => {
    const r = await analyse(`${T}gpt_step600.safetensors`, `${T}gpt_final_exploded.safetensors`);
    expect([r.anom.type, r.anom.severity]).toEqual(['gradient_explosion', 'critical']);
    expect(r.anom.anomalies.map((a) => a.tensor)).toEqual(['blocks.1.attn.in_proj_weight']);
    expect(r.sum.detail.per_tensor.find((t) => t.name === 'blocks.1.attn.in_proj_weight')).toMatchObject({ pattern: 'uniform_rescale' });
  });

  it.each([
    ['mlp', 'mlp_ep4', ['fc1.weight', 'head.bias']],
    ['gpt', 'gpt_step600', ['blocks.0.attn.out_proj.weight', 'ln_f.weight']],
  ])('%s naninf: nan_inf_values, critical, the two tensors named', async (_m, base, names) => {
    const r = await analyse(`${T}${base}.safetensors`, `${T}${_m}_final_naninf.safetensors`);
    expect([r.anom.type, r.anom.severity, r.anom.affected, r.anom.level]).toEqual(['nan_inf_values', 'critical', 2, 'CRITICAL']);
    expect(r.anom.anomalies.map((a) => a.tensor).sort()).toEqual([...names].sort());
    expect(r.lp.trend).toBe('degrading');
    expect(r.conv.status).toBe('diverging');
  });
});

describe('precision changes', () => {
  it.each([
    ['mlp_ep4', 'mlp_final_fp16', 'F32 -> F16', 2.079e-4],
    ['mlp_ep4', 'mlp_final_bf16', 'F32 -> BF16', 1.649e-3],
    ['gpt_step600', 'gpt_final_fp16', 'F32 -> F16', 2.057e-4],
    ['gpt_step600', 'gpt_final_bf16', 'F32 -> BF16', 1.646e-3],
  ])('%s -> %s is answered as a precision change (%s), not as learning', async (a, b, conv, R) => {
    const r = await analyse(`${T}${a}.safetensors`, `${T}${b}.safetensors`);
    expect(r.lp.pair_kind).toBe('precision_change');
    expect(r.lp.trend).toBe('stable');
    expect(r.lp.magnitude! / R).toBeCloseTo(1, 2);
    expect(r.lp.speed).toBeNull();
    expect(r.lp.reasons.speed).toContain(`precision change (${conv}`);
    expect(r.conv.status).toBe('stable');
    expect(r.anom.type).toBe('none');
    expect(r.sum.patterns).toEqual(['precision_change']);
  });
});

describe('trained and cast', () => {
  it('mlp_ep0 -> mlp_final_fp16 (four epochs of training, then a cast to F16) is read as training, with the cast named', async () => {
    const r = await analyse(`${T}mlp_ep0.safetensors`, `${T}mlp_final_fp16.safetensors`);
    expect(r.lp.pair_kind).toBe('training');
    // measured: R = 1.522 (every tensor moved far beyond the F16 rounding bound of 2^-10 relative)
    expect(r.lp.magnitude).toBeCloseTo(1.522, 3);
    expect(r.lp.trend).not.toBe('stable');
    expect(r.lp.detail.pair_kind_note).toMatch(/^trained and cast: a dtype change \(F32 -> F16 on 6 tensors\) also happened, and all 6 tensors moved beyond what the conversion can cause \(fc1\.bias: rel_l2 3\.675, the conversion at most 9\.766e-4\)$/);
    expect(r.lines.find((l) => l.startsWith('learning_progress:'))).toContain('; trained and cast:');
    // #28 classifies the tensors by their update, not as a cast, and names the cast too
    expect(r.sum.patterns).toEqual(['dense_update']);
    expect(r.lines.find((l) => l.startsWith('change_summary:'))).toContain('; trained and cast: a dtype change (F32 -> F16 on 6 tensors)');
  });
});

describe('formats', () => {
  it('gpt_step0.pt -> gpt_step600.pt: the tied lm_head.weight is not counted twice (R as for the safetensors)', async () => {
    const pt = await analyse(`${T}gpt_step0.pt`, `${T}gpt_step600.pt`);
    const st = await analyse(`${T}gpt_step0.safetensors`, `${T}gpt_step600.safetensors`);
    expect(pt.lp.magnitude).toBeCloseTo(st.lp.magnitude!, 6);
    expect(pt.lp.detail.apart.map((a) => [a.name, a.reason])).toContainEqual(['lm_head.weight', 'alias']);
  });

  it('GGUF F32 -> Q8_0 (dequantized by the reader) is a precision change with its measured R', async () => {
    const r = await analyse('gguf/gpt_step600.f32.gguf', 'gguf/gpt_step600.q8_0.gguf');
    expect(r.lp.pair_kind).toBe('precision_change');
    expect(r.lp.reasons.speed).toContain('F32 -> Q8_0');
    expect(r.lp.magnitude).toBeCloseTo(4.716e-3, 4);
    expect(r.sum.patterns).toEqual(['precision_change']);
  });
});

describe('integer-quantized copies', () => {
  it.each([
    ['mlp_final_int8.safetensors', 'F32 -> I8'],
    ['mlp_final_dynq_int8.pt', 'F32 -> I8'],
  ])('mlp_ep4 -> %s is a precision change; no magnitude, since the I8 codes are outside S', async (b, conv) => {
    const r = await analyse(`${T}mlp_ep4.safetensors`, `${T}${b}`);
    expect(r.lp.pair_kind).toBe('precision_change');
    expect(r.lp.trend).toBe('stable');
    expect(r.lp.magnitude).toBeNull();
    expect(r.lp.reasons.magnitude).toContain(`stored as integer codes (${conv})`);
    expect(r.conv.status).toBe('stable');
    expect(r.conv.stability).toBeNull();
    expect(r.sum.magnitude).toBeNull();
    // the codes, dequantized with their scales, are within one step of A: a precision change
    expect(r.sum.patterns).toEqual(['precision_change']);
    expect(r.sum.detail.pattern_counts.precision_change).toEqual({ tensors: 3, params: 784 * 128 + 128 * 64 + 64 * 10 });
    expect(r.anom.type).toBe('none');
  });
});

describe('not a continuation', () => {
  it('two wake-word heads trained independently: #1 and #2 answer null with the reason', async () => {
    const r = await analyse('npm/wakeword_hello_deepa_old.safetensors', 'npm/wakeword_namaste_deepa.safetensors');
    expect(r.lp.pair_kind).toBe('not_continuation');
    expect([r.lp.trend, r.lp.magnitude, r.lp.speed]).toEqual([null, null, null]);
    expect([r.conv.status, r.conv.stability, r.conv.action]).toEqual([null, null, null]);
    expect(r.lp.reasons.trend).toMatch(/^not a continuation: 99\.9\d* % of the changed parameters were re-initialised$/);
    expect(r.sum.patterns).toContain('reinitialisation');
  });
});
