/**
 * The model-structure analyses (#4, #5, #6, #7, #8, #15, #26) on the real models of ../shared/models,
 * asserting what a user must see (the figures are documented in docs/analyses.md, "Validation").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../lib/analyses/Analysis.js';
import type { ArchitectureResult } from '../../lib/analyses/architectureComparison.js';
import type { GradientResult } from '../../lib/analyses/gradientAnalysis.js';
import type { InferenceSpeedResult } from '../../lib/analyses/inferenceSpeedEstimate.js';
import type { MemoryResult } from '../../lib/analyses/memoryAnalysis.js';
import type { ParamEfficiencyResult } from '../../lib/analyses/paramEfficiencyAnalysis.js';
import type { PerformanceImpactResult } from '../../lib/analyses/performanceImpactEstimate.js';
import type { QuantizationResult } from '../../lib/analyses/quantizationAnalysis.js';
import { compare } from '../../lib/compare.js';
import { DEFAULT_CONFIG, type Config, type Thresholds } from '../../lib/config/Config.js';
import { model } from '../helpers/paths.js';
import { runCli } from '../helpers/runCli.js';

const KEYS = ['gradient_analysis', 'architecture_comparison', 'param_efficiency_analysis', 'memory_analysis', 'inference_speed_estimate', 'performance_impact_estimate', 'quantization_analysis'] as const;

interface Out {
  grad: GradientResult;
  arch: ArchitectureResult;
  eff: ParamEfficiencyResult;
  mem: MemoryResult;
  speed: InferenceSpeedResult;
  perf: PerformanceImpactResult;
  quant: QuantizationResult;
  lines: Record<string, string>;
}

async function analyse(files: string[], th: Partial<Thresholds> = {}): Promise<Out> {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  Object.assign(config.thresholds, th);
  for (const k of KEYS) config.ml_analysis[k] = true;
  const report = await compare(files.map((f) => model(f)), { config });
  const r: Record<string, AnalysisResult> = {};
  const lines: Record<string, string> = {};
  for (const a of report.analyses) {
    r[a.key] = a.result;
    lines[a.key] = a.lines[0];
    expect(JSON.parse(JSON.stringify(a.result))).toEqual(a.result);
  }
  return {
    grad: r.gradient_analysis as GradientResult,
    arch: r.architecture_comparison as ArchitectureResult,
    eff: r.param_efficiency_analysis as ParamEfficiencyResult,
    mem: r.memory_analysis as MemoryResult,
    speed: r.inference_speed_estimate as InferenceSpeedResult,
    perf: r.performance_impact_estimate as PerformanceImpactResult,
    quant: r.quantization_analysis as QuantizationResult,
    lines,
  };
}

/** Sum of tensor byte lengths of a safetensors file, read from its header independently of diffai. */
function safetensorsTensorBytes(rel: string): number {
  const buf = readFileSync(model(rel));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
  let total = 0;
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__' && v.data_offsets) total += v.data_offsets[1] - v.data_offsets[0];
  return total;
}

const T = 'trained/';

describe('#26 quantization on the real models', () => {
  it('mlp_ep4 -> final_fp16 / final_bf16 / final_int8: compression 50 % / 50 % / 75 %, SQNR from the dequantized values, F16 far better than BF16, INT8 below', async () => {
    const f16 = (await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_fp16.safetensors`])).quant;
    const bf16 = (await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_bf16.safetensors`])).quant;
    const int8 = await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_int8.safetensors`]);
    const i8 = int8.quant;
    expect(f16.compression).toBeCloseTo(0.5, 12);
    expect(bf16.compression).toBeCloseTo(0.5, 12);
    expect(i8.compression!).toBeGreaterThan(0.74);
    expect(i8.compression!).toBeLessThan(0.76);
    // measured: 73.6, 55.7, 42.3 dB (SPEC: fp16 74, bf16 56, per-channel int8 42-46)
    expect(f16.sqnr_db!).toBeGreaterThan(72);
    expect(f16.sqnr_db!).toBeLessThan(76);
    expect(bf16.sqnr_db!).toBeGreaterThan(54);
    expect(bf16.sqnr_db!).toBeLessThan(58);
    expect(i8.sqnr_db!).toBeGreaterThan(41);
    expect(i8.sqnr_db!).toBeLessThan(47);
    expect(f16.sqnr_db! - bf16.sqnr_db!).toBeGreaterThan(15);
    for (const q of [f16, bf16, i8]) {
      expect(q.precision_loss!).toBeCloseTo(10 ** (-q.sqnr_db! / 20), 12);
      expect(q.suitability).toBe('good');
    }
    // the int8 codes were dequantized with their per-channel scales, never compared raw
    expect(i8.detail.tensors.find((t) => t.tensor === 'fc1.weight')!.read_as).toBe('per_channel_symmetric (axis 0, 128 channels)');
    expect(i8.most_sensitive[0].tensor).toBe('fc1.weight');
    expect(int8.lines.quantization_analysis).toMatch(/^quantization_analysis: compression=0\.74\d+, speedup=[0-9.]+, precision_loss=0\.007\d+, suitability=good; SQNR 42\.\d+ dB; most sensitive: fc1\.weight/);
  });

  it('npm/age_gender_model .dequant -> .quantized (real uint8 weights, q * scale + min): 75 % smaller, and the .dequant file is the exact dequantization', async () => {
    const q = (await analyse(['npm/age_gender_model.dequant.safetensors', 'npm/age_gender_model.quantized.safetensors'])).quant;
    expect(q.compression!).toBeGreaterThan(0.74);
    expect(q.compression!).toBeLessThan(0.75);
    const coded = q.detail.tensors.filter((t) => t.read_as.startsWith('tfjs_affine'));
    expect(coded.length).toBe(32);
    expect(q.detail.not_comparable).toEqual([]);
    // float32 rounding of q * scale + min only
    expect(q.precision_loss!).toBeLessThan(1e-6);
    expect(q.sqnr_db!).toBeGreaterThan(120);
    expect(q.suitability).toBe('good');
  });

  it('torch dynamic quantization and GGUF Q8_0 are read too', async () => {
    const dynq = (await analyse([`${T}mlp_ep4.pt`, `${T}mlp_final_dynq_int8.pt`])).quant;
    expect(dynq.detail.tensors.find((t) => t.tensor === 'fc1.weight')!.read_as).toBe('torch_affine (per tensor)');
    expect(dynq.sqnr_db!).toBeGreaterThan(36);
    const q8 = (await analyse([`${T}gpt_step600.safetensors`, 'gguf/gpt_step600.q8_0.gguf'])).quant;
    expect(q8.detail.conversions).toEqual(['F32 -> Q8_0']);
    expect(q8.sqnr_db!).toBeGreaterThan(42);
  });

  it('null with a reason when no dtype changed', async () => {
    const q = (await analyse([`${T}mlp_ep2.safetensors`, `${T}mlp_ep4.safetensors`])).quant;
    expect(q.compression).toBeNull();
    expect(q.reasons.compression).toMatch(/no dtype changed/);
  });
});

describe('#5 architecture on the real models', () => {
  it('names mlp, cnn and transformer, counts depth from the blocks', async () => {
    const mlp = (await analyse([`${T}mlp_ep2.safetensors`, `${T}mlp_ep4.safetensors`])).arch;
    const cnn = (await analyse([`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`])).arch;
    const gpt = (await analyse([`${T}gpt_step300.safetensors`, `${T}gpt_step600.safetensors`])).arch;
    expect([mlp.type1, cnn.type1, gpt.type1]).toEqual(['mlp', 'cnn', 'transformer']);
    expect(mlp.depth).toEqual([3, 3]);
    expect(cnn.depth).toEqual([4, 4]);
    expect(gpt.depth).toEqual([2, 2]);
    expect(gpt.detail.a.depth_source).toBe('blocks');
    expect([mlp.differences, cnn.differences, gpt.differences]).toEqual([0, 0, 0]);
  });

  it("the GPT's tied output head is an alias, not a removal (.pt against safetensors)", async () => {
    const r = await analyse([`${T}gpt_step600.pt`, `${T}gpt_step600.safetensors`]);
    expect(r.arch.differences).toBe(0);
    expect(r.arch.detail.tied_aliases).toEqual([{ tensor: 'lm_head.weight', side: 'a', alias_of: 'tok_emb.weight' }]);
    expect(r.lines.architecture_comparison).toMatch(/differences=0, tied aliases apart: lm_head\.weight -> tok_emb\.weight/);
  });

  it('lists the differences of wakeword_hello_deepa_old against the GPT', async () => {
    const r = (await analyse(['npm/wakeword_hello_deepa_old.safetensors', `${T}gpt_step600.safetensors`])).arch;
    expect([r.type1, r.type2]).toEqual(['mlp', 'transformer']);
    expect(r.detail.counts).toEqual({ added: 28, removed: 14, shape_changed: 0, dtype_changed: 0 });
    expect(r.detail.differences.map((d) => d.tensor)).toEqual(expect.arrayContaining(['layer1.weight', 'last_layer.weight', 'blocks.0.attn.in_proj_weight', 'tok_emb.weight']));
  });
});

describe('#7 memory on the real models', () => {
  it.each([
    ['mlp_ep4.safetensors', 'mlp_final_int8.safetensors'],
    ['mlp_ep4.safetensors', 'mlp_final_fp16.safetensors'],
    ['gpt_step600.safetensors', 'gpt_final_bf16.safetensors'],
  ])('%s -> %s: delta equals the real byte difference of the tensors; the Adam estimate is in the detail', async (a, b) => {
    const m = (await analyse([`${T}${a}`, `${T}${b}`])).mem;
    expect(m.delta).toBe(safetensorsTensorBytes(`${T}${b}`) - safetensorsTensorBytes(`${T}${a}`));
    expect(m.detail.changes_total).toBe(m.delta);
    expect(m.detail.a.training.bytes).toBe(16 * m.detail.a.training.parameters);
    expect(m.gpu_est).toBeCloseTo(1.2 * safetensorsTensorBytes(`${T}${b}`), 6);
  });

  it('the tied lm_head of the .pt is stored once; Q8_0 counts 34 bytes per 32 weights', async () => {
    expect((await analyse([`${T}gpt_step600.pt`, `${T}gpt_step600.safetensors`])).mem.delta).toBe(0);
    const q = (await analyse(['gguf/gpt_step600.f32.gguf', 'gguf/gpt_step600.q8_0.gguf'])).mem;
    const q8 = q.detail.changes.find((c) => c.tensor === 'blocks.0.mlp.0.weight')!;
    expect(q8).toEqual({ tensor: 'blocks.0.mlp.0.weight', bytes_a: 256 * 64 * 4, bytes_b: ((256 * 64) / 32) * 34, delta: ((256 * 64) / 32) * 34 - 256 * 64 * 4 });
  });
});

describe('#4 gradient flow on the real models', () => {
  it('mlp_ep0 -> ep1 against ep2 -> ep4: the update shrinks; a depth flow ratio from the numbered layers', async () => {
    const early = (await analyse([`${T}mlp_ep0.safetensors`, `${T}mlp_ep1.safetensors`])).grad;
    const late = (await analyse([`${T}mlp_ep2.safetensors`, `${T}mlp_ep4.safetensors`])).grad;
    expect(early.source).toBe('update');
    expect(early.norm).toBeCloseTo(7.888, 2);
    expect(late.norm).toBeCloseTo(4.139, 2);
    expect(late.detail.intervals[0].norm_per_unit! / early.detail.intervals[0].norm_per_unit!).toBeLessThan(0.3);
    // r_t of fc1 over r_t of head
    expect(early.ratio).toBeCloseTo(1.1574 / 0.425, 2);
    expect(late.ratio).toBeCloseTo(0.3429 / 0.1574, 2);
    expect([early.flow_health, late.flow_health]).toEqual(['no_exploding_or_dead', 'no_exploding_or_dead']);
  });

  it('with mlp_full_checkpoint.pt it uses the Adam first moment and says so', async () => {
    const r = await analyse([`${T}mlp_ep2.pt`, `${T}mlp_full_checkpoint.pt`]);
    expect(r.grad.source).toBe('adam_exp_avg');
    expect(r.grad.detail.adam).toMatchObject({ step: 376, beta1: 0.9 });
    expect(r.grad.detail.layers.map((l) => l.tensor)).toEqual(['model.fc1.weight', 'model.fc2.weight', 'model.head.weight']);
    expect(r.grad.ratio!).toBeGreaterThan(1e-3);
    expect(r.grad.ratio!).toBeLessThan(1e3);
    expect(r.grad.flow_health).toBe('healthy');
    expect(r.lines.gradient_analysis).toMatch(/source=Adam exp_avg of .*mlp_full_checkpoint\.pt at step 376/);
  });

  it('the exploded MLP layer is exploding', async () => {
    expect((await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_exploded.safetensors`])).grad.flow_health).toBe('exploding');
  });
});

describe('#8 and #15 on the real models', () => {
  it('gpt_step600 -> gpt_final_fp16 on a100: the memory-bound roofline speedup of 2x at batch 1, low confidence for a cache-resident, overhead-bound model', async () => {
    const r = await analyse([`${T}gpt_step600.safetensors`, `${T}gpt_final_fp16.safetensors`], { hardware_profile: 'a100' });
    expect(r.speed.profile).toBe('a100');
    expect(r.speed.detail.roofline_speedup!).toBeGreaterThan(1.9);
    expect(r.speed.detail.roofline_speedup!).toBeLessThan(2.1);
    expect(r.speed.detail.bound).toBe('memory-bound');
    expect(r.speed.regime).toBe('low confidence');
    expect(r.speed.detail.conditions.map((c) => c.kind)).toEqual(['fits_in_cache', 'overhead_bound']);
    expect(r.speed.flops_ratio).toBe(1);
    expect(r.perf.detail.roofline_latency_change!).toBeCloseTo(-0.5, 1);
    expect(r.lines.inference_speed_estimate).toMatch(/profile=a100; roofline speedup 2x at batch 1/);
  });

  it('on the default cpu profile F16 is not native: no speedup, low confidence', async () => {
    const r = await analyse([`${T}gpt_step600.safetensors`, `${T}gpt_final_fp16.safetensors`]);
    expect(r.speed.profile).toBe('cpu');
    expect(r.speed.speed_ratio!).toBeLessThan(1);
    expect(r.speed.detail.roofline_speedup_batch!).toBeLessThanOrEqual(1);
    expect(r.speed.regime).toBe('low confidence');
    expect(r.speed.detail.conditions.map((c) => c.kind)).toEqual(expect.arrayContaining(['fits_in_cache', 'not_native']));
    expect(r.perf.latency_change!).toBeGreaterThan(0);
    expect(r.perf.confidence!).toBeLessThan(0.1);
  });

  it('the CNN reports its conv layers as not covered without an input shape; with 1,28,28 conv2 is its bottleneck', async () => {
    const none = (await analyse([`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`])).speed;
    expect(none.detail.not_covered.map((x) => x.name)).toEqual(expect.arrayContaining(['conv1.weight', 'conv2.weight']));
    const shaped = (await analyse([`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`], { input_shape: '1,28,28' })).speed;
    expect(shaped.detail.not_covered).toEqual([]);
    expect(shaped.bottlenecks[0].name).toBe('conv2.weight');
    const conv2 = shaped.detail.b.layers.find((l) => l.name === 'conv2.weight')!;
    expect([conv2.positions, conv2.flops]).toEqual([196, 2 * 32 * 16 * 9 * 196]);
  });
});

describe('#6 parameter efficiency on the real models', () => {
  it('trained matrices sit near the Gaussian pruning baseline, all units live, stable ranks converged', async () => {
    const r = (await analyse([`${T}gpt_step0.safetensors`, `${T}gpt_step600.safetensors`])).eff;
    expect(r.pruning_potential!).toBeGreaterThan(0.06);
    expect(r.pruning_potential!).toBeLessThan(0.1);
    expect(r.utilization).toBe(1);
    expect(r.efficiency_ratio).toBe(1);
    for (const m of r.detail.b.matrices) {
      expect(m.power_tolerance!).toBeLessThan(1e-10);
      expect(m.stable_rank!).toBeGreaterThan(1);
    }
  });
});

describe('the CLI flags', () => {
  it('--hardware-profile and --input-shape reach the analyses; a bad profile is a usage error', () => {
    const r = runCli([model(`${T}cnn_ep1.safetensors`), model(`${T}cnn_ep3.safetensors`), '--inference-speed-estimate', '--hardware-profile', 'a100', '--input-shape', '1,28,28', '--brief']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/inference_speed_estimate: speed_ratio=1, flops_ratio=1, bottlenecks=\[conv2\.weight .*profile=a100/);
    const bad = runCli([model(`${T}cnn_ep1.safetensors`), model(`${T}cnn_ep3.safetensors`), '--hardware-profile', 'tpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ERR_USAGE.*hardware-profile/);
    const shape = runCli([model(`${T}cnn_ep1.safetensors`), model(`${T}cnn_ep3.safetensors`), '--inference-speed-estimate', '--input-shape', '28']);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/ERR_CONFIG.*input_shape/);
  });
});
