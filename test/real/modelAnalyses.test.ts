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
import { buildSafetensors, writeTemp, type TestDType, type TestTensor } from '../helpers/safetensorsBuilder.js';

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
    // 14 tensors of the head, of which 4 are ONNX LayerNorm constants (`.../Constant_output_0`): listed apart
    expect(r.detail.counts).toEqual({ added: 28, removed: 10, shape_changed: 0, dtype_changed: 0 });
    expect(r.detail.non_parameters.map((x) => `${x.status} ${x.class}`)).toEqual(new Array(4).fill('removed constant'));
    expect(r.detail.differences.map((d) => d.tensor)).toEqual(expect.arrayContaining(['layer1.weight', 'last_layer.weight', 'blocks.0.attn.in_proj_weight', 'tok_emb.weight']));
  });

  it('mlp_full_checkpoint.pt (model + Adam state) against mlp_ep4.safetensors: the same architecture, the optimizer state apart', async () => {
    // the checkpoint holds model.{fc1,fc2,head}.{weight,bias} (= mlp_ep4's six tensors under `model.`) and
    // optimizer.state.{0..5}.{step,exp_avg,exp_avg_sq}: 18 optimizer tensors, none of them the model
    const r = await analyse([`${T}mlp_full_checkpoint.pt`, `${T}mlp_ep4.safetensors`]);
    expect([r.arch.type1, r.arch.type2]).toEqual(['mlp', 'mlp']);
    expect(r.arch.depth).toEqual([3, 3]);
    expect(r.arch.differences).toBe(0);
    expect(r.arch.detail.counts).toEqual({ added: 0, removed: 0, shape_changed: 0, dtype_changed: 0 });
    expect(r.arch.detail.non_parameters.length).toBe(18);
    expect(r.arch.detail.non_parameters.every((x) => x.class === 'optimizer' && x.status === 'removed' && x.tensor.startsWith('optimizer.state.'))).toBe(true);
    expect(r.lines.architecture_comparison).toMatch(/differences=0, not parameters apart: 18 optimizer state;/);
  });

  it('mlp_ep4 -> mlp_final_int8 / mlp_final_dynq_int8.pt: the dtype changes are the differences, the scales are not', async () => {
    const int8 = (await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_int8.safetensors`])).arch;
    expect(int8.detail.counts).toEqual({ added: 0, removed: 0, shape_changed: 0, dtype_changed: 3 });
    expect(int8.detail.non_parameters.map((x) => x.tensor)).toEqual(['fc1.weight_scale', 'fc2.weight_scale', 'head.weight_scale']);
    // torch dynamic quantization: per Linear the codes' scale and zero point and the module's activation scale and zero point
    const dynq = (await analyse([`${T}mlp_ep4.pt`, `${T}mlp_final_dynq_int8.pt`])).arch;
    expect(dynq.detail.counts).toEqual({ added: 0, removed: 0, shape_changed: 0, dtype_changed: 3 });
    expect(dynq.detail.non_parameters.length).toBe(12);
    expect(dynq.detail.non_parameters.every((x) => x.class === 'quant_param' && x.status === 'added')).toBe(true);
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

  it('mlp_ep4 and its quantized copies have the same parameter count, 109386; efficiency counts parameters, not scales', async () => {
    // 784*128 + 128 + 128*64 + 64 + 64*10 + 10 = 109386 (the MLP 784-128-64-10)
    const n = 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10;
    const int8 = (await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_int8.safetensors`])).mem;
    const dynq = (await analyse([`${T}mlp_ep4.pt`, `${T}mlp_final_dynq_int8.pt`])).mem;
    for (const m of [int8, dynq]) {
      expect([m.detail.a.params, m.detail.b.params, m.detail.a.bytes.parameter_count, m.detail.b.bytes.parameter_count]).toEqual([n, n, n, n]);
      expect([m.detail.a.training.parameters, m.detail.b.training.parameters]).toEqual([n, n]);
    }
    // int8: every stored tensor is a parameter or a scale, 109184 I8 codes + 202 F32 biases + 202 F32
    // scales = 110800 bytes (the header's byte ranges): 4 x 109386 / 110800 = 3.9490 (3.956 when the
    // 202 scales were counted as parameters)
    expect(int8.detail.b.bytes.quant_params).toBe(202 * 4);
    expect(int8.efficiency).toBeCloseTo((4 * n) / safetensorsTensorBytes(`${T}mlp_final_int8.safetensors`), 12);
    expect(int8.efficiency).toBeCloseTo(3.949, 3);
    // dynq: 109184 codes + 808 bias bytes; per Linear an F64 scale + I64 zero point of the codes and an
    // F32 activation scale + I64 zero point of the module: 3 x 28 = 84 bytes; 4 x 109386 / 110076 = 3.9749
    expect(dynq.detail.b.bytes.quant_params).toBe(84);
    expect(dynq.efficiency).toBeCloseTo((4 * n) / 110076, 12);
  });

  it('face_landmark_68_tiny .dequant / .quantized: the uint8 biases are parameters, their q_scale / q_min are not', async () => {
    // numpy over the safetensors: the 28 tensors of .dequant hold 77224 elements, the same 28 names in
    // .quantized (U8) too, beside 56 0-d q_scale / q_min
    const m = (await analyse(['npm/face_landmark_68_tiny_model.dequant.safetensors', 'npm/face_landmark_68_tiny_model.quantized.safetensors'])).mem;
    expect([m.detail.a.params, m.detail.b.params]).toEqual([77224, 77224]);
    expect(m.detail.b.bytes).toMatchObject({ parameters: 77224, quant_params: 56 * 4, constants: 0 });
    expect(m.efficiency).toBeCloseTo((4 * 77224) / (77224 + 224), 12);
  });

  it('gpt_step600 .pt and .safetensors have the same parameter count (the tied head once)', async () => {
    // torch: the .pt state dict has 115200 elements, 109696 in distinct storages (lm_head.weight shares tok_emb.weight's)
    const m = (await analyse([`${T}gpt_step600.pt`, `${T}gpt_step600.safetensors`])).mem;
    expect([m.detail.a.params, m.detail.b.params]).toEqual([109696, 109696]);
    expect(m.efficiency).toBe(1);
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
      expect(m.power_tolerance!).toBeLessThan(1e-6); // SPECTRAL_TOLERANCE (lib/diff/spectralNorm.ts)
      expect(m.stable_rank!).toBeGreaterThan(1);
    }
  });
});

describe('#6 parameter efficiency: thresholds, tied aliases', () => {
  it.each([
    // t, the share the analysis must give (numpy: |w| / RMS per tensor of mlp_ep4's fc1, fc2, head, binned
    // floor(|w| / (0.1 RMS)), whole bins below t plus the fraction of the bin holding t, over 109184
    // weights), the exact share (numpy: count of |w| < t RMS / 109184), erf(t / sqrt 2) (Python math.erf)
    [0.05, 0.04099043815943728, 0.040976699882766705, 0.039877611676744924],
    [0.1, 0.08198087631887456, 0.08198087631887456, 0.07965567455405796],
    [0.15, 0.1230720618405627, 0.12253626905041032, 0.11923538474048502],
    [0.25, 0.203834810961313, 0.20364705451348183, 0.19741265136584743],
  ])('mlp_ep4 at pruning_threshold %s: the share interpolated within the 0.1-RMS bins, the erf baseline', async (t, interpolated, exact, baseline) => {
    const r = (await analyse([`${T}mlp_ep2.safetensors`, `${T}mlp_ep4.safetensors`], { pruning_threshold: t })).eff;
    expect(r.pruning_potential).toBeCloseTo(interpolated, 9);
    // within 6e-4 of the exact share (the most one 0.1-RMS bin can hold is 0.04 of the weights)
    expect(Math.abs(r.pruning_potential! - exact)).toBeLessThan(6e-4);
    expect(r.detail.gaussian_baseline).toBeCloseTo(baseline, 14);
    expect(r.detail.b.params).toBe(109184);
  });

  it('gpt_step600.pt against gpt_step600.safetensors: the tied lm_head.weight is not counted, both sides give identical figures', async () => {
    const r = (await analyse([`${T}gpt_step600.pt`, `${T}gpt_step600.safetensors`])).eff;
    expect(r.detail.a).toEqual(r.detail.b);
    expect(r.detail.a.matrices.map((m) => m.tensor)).not.toContain('lm_head.weight');
    // the 8 weight matrices of the two blocks: 2 x (12288 + 4096 + 16384 + 16384) = 98304; numpy: 7848 of them below 0.1 RMS
    expect(r.detail.a.params).toBe(98304);
    expect(r.pruning_potential).toBe(7848 / 98304);
    expect([r.efficiency_ratio, r.utilization]).toEqual([1, 1]);
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
    expect(shape.stderr).toBe('ERR_USAGE: --input-shape "28": 1 dimension: give C,H,W (images) or C,L (sequences), e.g. 1,28,28 (expected C,H,W or C,L, e.g. 1,28,28)\n');
  });

  it('--input-shape that does not fit the CNN: exit 1, its conv layers (and BatchNorms) not covered, the line naming the mismatch', () => {
    const args = [model(`${T}cnn_ep1.safetensors`), model(`${T}cnn_ep3.safetensors`), '--inference-speed-estimate', '--brief'];
    const channels = runCli([...args, '--input-shape', '3,28,28']);
    expect(channels.code).toBe(1);
    expect(channels.stdout).toContain(
      '; not covered: conv1.weight, conv2.weight, bn1.weight, bn2.weight (the input shape 3,28,28 has 3 channels, but the first conv layer conv1.weight [16, 1, 3, 3] takes 1: 3 would need 3 groups, which do not divide its 16 output channels)',
    );
    const rank = runCli([...args, '--input-shape', '1,28']);
    expect(rank.code).toBe(1);
    expect(rank.stdout).toContain('; not covered: conv1.weight, conv2.weight, bn1.weight, bn2.weight (the input shape 1,28 has 1 spatial dimension, but a 2-D conv layer needs C,H,W)');
  });
});

/** The tensors of a safetensors file (dtype, shape, raw bytes), read from its header independently of diffai. */
function readSafetensors(rel: string): Record<string, TestTensor> {
  const buf = readFileSync(model(rel));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: TestDType; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, TestTensor> = {};
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') out[k] = { dtype: v.dtype, shape: v.shape, bytes: new Uint8Array(buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])) };
  return out;
}

const f32 = (values: ArrayLike<number>) => new Uint8Array(Float32Array.from(values).buffer);

/** mlp_final_int8 (real I8 codes and per-row F32 scales) with some tensors replaced, written to a temp file. */
function int8Variant(name: string, edit: (t: Record<string, TestTensor>) => void): string {
  const t = readSafetensors(`${T}mlp_final_int8.safetensors`);
  edit(t);
  return writeTemp(`${name}.safetensors`, buildSafetensors(t));
}

/** The F32 values of a real tensor. */
function valuesOf(t: TestTensor): number[] {
  return Array.from(new Float32Array(t.bytes!.slice().buffer));
}

describe('#26 on corrupt quantization parameters (mlp_final_int8 with its fc1 scale edited)', () => {
  const ep4 = `${T}mlp_ep4.safetensors`;
  const scale = valuesOf(readSafetensors(`${T}mlp_final_int8.safetensors`)['fc1.weight_scale']);
  const quant = async (b: string) => {
    const config: Config = structuredClone(DEFAULT_CONFIG);
    config.ml_analysis.quantization_analysis = true;
    const report = await compare([model(ep4), b], { config });
    const a = report.analyses.find((x) => x.key === 'quantization_analysis')!;
    return { q: a.result as QuantizationResult, line: a.lines[0] };
  };

  it('one NaN scale of 128: B is non-finite in that row (784 values), so poor, precision null with the tensor and the problem', async () => {
    const { q, line } = await quant(int8Variant('int8_nan', (t) => (t['fc1.weight_scale'].bytes = f32(scale.map((x, i) => (i === 3 ? NaN : x))))));
    const problem = 'fc1.weight_scale has 1 non-finite value (of 128): the dequantized fc1.weight is non-finite in 1 channel';
    expect([q.suitability, q.level, q.precision_loss, q.sqnr_db]).toEqual(['poor', 'WARNING', null, null]);
    expect(q.reasons.precision_loss).toBe(`fc1.weight cannot be dequantized: ${problem}`);
    expect(q.detail.non_finite).toBe(784);
    expect(q.detail.not_comparable).toEqual([{ tensor: 'fc1.weight', dtype: ['F32', 'I8'], reason: problem, non_finite_elements: 784 }]);
    // the bytes did not change: the same compression as the real pair, 1 - 110800 / 437544 (header bytes)
    expect(q.compression).toBeCloseTo(1 - safetensorsTensorBytes(`${T}mlp_final_int8.safetensors`) / safetensorsTensorBytes(ep4), 15);
    expect(line).toMatch(/^quantization_analysis: compression=0\.7468, speedup=[0-9.]+, precision_loss=null \(fc1\.weight cannot be dequantized: fc1\.weight_scale has 1 non-finite value \(of 128\): the dequantized fc1\.weight is non-finite in 1 channel\), suitability=poor; poor because B has 784 non-finite values once dequantized \(fc1\.weight\); /);
    const cli = runCli([model(ep4), int8Variant('int8_nan_cli', (t) => (t['fc1.weight_scale'].bytes = f32(scale.map((x, i) => (i === 3 ? NaN : x))))), '--quantization-analysis', '--brief']);
    expect(cli.code).toBe(1);
    expect(cli.stdout.split('\n')[0]).toBe(`[WARNING] ${line}`);
  });

  it('every scale Inf: all 100352 values of fc1.weight non-finite', async () => {
    const { q } = await quant(int8Variant('int8_inf', (t) => (t['fc1.weight_scale'].bytes = f32(scale.map(() => Infinity)))));
    expect([q.suitability, q.detail.non_finite]).toEqual(['poor', 128 * 784]);
    expect(q.reasons.sqnr_db).toBe('fc1.weight cannot be dequantized: fc1.weight_scale has 128 non-finite values (of 128): the dequantized fc1.weight is non-finite in every channel');
  });

  it('a scale of the wrong length or of an integer dtype: not comparable with that reason, suitability null', async () => {
    const short = await quant(int8Variant('int8_len', (t) => (t['fc1.weight_scale'] = { dtype: 'F32', shape: [64], bytes: f32(scale.slice(0, 64)) })));
    const why = 'fc1.weight_scale has 64 values, which match no axis of fc1.weight [128, 784] (one value per tensor, or one per channel of an axis)';
    expect([short.q.precision_loss, short.q.suitability, short.q.level]).toEqual([null, null, undefined]);
    expect(short.q.detail.not_comparable).toEqual([{ tensor: 'fc1.weight', dtype: ['F32', 'I8'], reason: why, non_finite_elements: 0 }]);
    expect(short.line).toContain(`precision_loss=null, suitability=null (fc1.weight cannot be dequantized: ${why})`);
    const int = await quant(int8Variant('int8_i32', (t) => (t['fc1.weight_scale'] = { dtype: 'I32', shape: [128], values: new Array(128).fill(1) })));
    expect(int.q.reasons.suitability).toBe('fc1.weight cannot be dequantized: fc1.weight_scale is I32: a quantization scale must be floating point');
    // the other two layers were dequantized: only fc1.weight is not comparable
    expect(int.q.detail.tensors.filter((x) => x.read_as.startsWith('per_channel_symmetric')).map((x) => x.tensor)).toEqual(['fc2.weight', 'head.weight']);
  });

  it('all-zero scales: B dequantizes to zeros, SQNR exactly 0 dB and precision_loss 1 (unrounded: 3.857e-15 dB)', async () => {
    // weights only on both sides, so that every compared tensor is all error: sum ||B - A||^2 = sum ||A||^2
    const a = readSafetensors(ep4);
    const aw = writeTemp('ep4_weights.safetensors', buildSafetensors(Object.fromEntries(Object.entries(a).filter(([k]) => k.endsWith('.weight')))));
    const b = int8Variant('int8_zero', (t) => {
      for (const k of ['fc1', 'fc2', 'head']) t[`${k}.weight_scale`].bytes = f32(new Array(t[`${k}.weight_scale`].shape[0]).fill(0));
      for (const k of Object.keys(t)) if (k.endsWith('.bias')) delete t[k];
    });
    const config: Config = structuredClone(DEFAULT_CONFIG);
    config.ml_analysis.quantization_analysis = true;
    const report = await compare([aw, b], { config });
    const r = report.analyses[0];
    const q = r.result as QuantizationResult;
    // 10 log10(||A||^2 / ||B - A||^2) from the engine's two accumulations was 3.857e-15 dB before the rounding guard
    expect(Object.is(q.sqnr_db, 0)).toBe(true);
    expect(q.precision_loss).toBe(1);
    expect(q.suitability).toBe('poor');
    expect(q.most_sensitive.map((x) => [x.tensor, x.sqnr_db])).toEqual([
      ['fc1.weight', 0],
      ['fc2.weight', 0],
      ['head.weight', 0],
    ]);
    expect(r.lines[0]).toContain('precision_loss=1, suitability=poor; SQNR 0 dB; most sensitive: fc1.weight 0 dB, fc2.weight 0 dB, head.weight 0 dB;');
  });

  it('a shape change and an added tensor: compression over what is in both (scales of converted tensors with them), the rest listed', async () => {
    const b = int8Variant('int8_shape', (t) => {
      t['head.weight'] = { dtype: 'F32', shape: [5, 64], values: new Array(320).fill(0.01) };
      delete t['head.weight_scale'];
      t['extra.weight'] = { dtype: 'F32', shape: [4, 4], values: new Array(16).fill(1) };
    });
    const { q, line } = await quant(b);
    // in both: fc1/fc2 weights and the three biases; with them fc1/fc2.weight_scale (header bytes of the real files)
    const a = readSafetensors(ep4);
    const i8 = readSafetensors(`${T}mlp_final_int8.safetensors`);
    const both = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'head.bias'];
    const bytesA = both.reduce((n, k) => n + a[k].bytes!.length, 0);
    const bytesB = [...both, 'fc1.weight_scale', 'fc2.weight_scale'].reduce((n, k) => n + i8[k].bytes!.length, 0);
    expect([bytesA, bytesB]).toEqual([434984, 110120]);
    expect(q.detail.bytes).toEqual({ a: bytesA, b: bytesB });
    expect(q.compression).toBeCloseTo(1 - bytesB / bytesA, 15);
    expect(q.detail.excluded).toEqual([
      { tensor: 'head.weight', status: 'shape_changed', bytes: [10 * 64 * 4, 5 * 64 * 4] },
      { tensor: 'extra.weight', status: 'added', bytes: [null, 64] },
    ]);
    expect(line).toContain('; 2 tensors not compared: head.weight (shape changed), extra.weight (added); ');
    // precision over fc1 and fc2 (and the biases), still good
    expect(q.suitability).toBe('good');
  });
});

describe('#8, #15 and #26 figures on the real models (review fixes)', () => {
  it('cnn_ep3 conv1 [16, 1, 3, 3] at --input-shape 1,28,28 reads 1 channel, not 16: 53312 bytes per sample', async () => {
    const r = (await analyse([`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`], { input_shape: '1,28,28' })).speed;
    const conv1 = r.detail.b.layers.find((l) => l.name === 'conv1.weight')!;
    // 784 positions (28 x 28, same padding, the first stage) x (1 input + 16 output channels) x 4 bytes (F32)
    expect(conv1.positions).toBe(784);
    expect(conv1.bytes_per_item).toBe(784 * (1 + 16) * 4);
    expect(conv1.bytes_per_item).toBe(53312);
    expect(conv1.conv_input).toEqual({ channels: 1, groups: 1, depthwise: false, source: 'input shape' });
    // FLOPs: 2 x 144 kernel elements x 784 positions, the same as before the fix
    expect(conv1.flops).toBe(2 * 16 * 9 * 784);
    const conv2 = r.detail.b.layers.find((l) => l.name === 'conv2.weight')!;
    expect([conv2.bytes_per_item, conv2.conv_input]).toEqual([196 * (16 + 32) * 4, { channels: 16, groups: 1, depthwise: false, source: 'previous layer' }]);
  });

  it('silero_vad_v4: the LSTM weights stored in every branch of two nested ONNX Ifs are counted once (one branch runs per call)', async () => {
    const silero = 'npm/silero_vad_v4.safetensors';
    const r = (await analyse([silero, silero], { input_shape: '1,512' })).speed;
    const lstm = r.detail.b.layers.filter((l) => l.kind === 'recurrent');
    // 16 gate matrices [1, 256, 64]: two LSTM layers (W and R each) in each of 4 leaf branches (If_25 then/else x inner If then/else)
    expect(lstm).toHaveLength(16);
    const counted = lstm.filter((l) => l.counted);
    expect(counted.map((l) => l.name)).toEqual(['If_25.then_branch.If_177.then_branch.343', 'If_25.then_branch.If_177.then_branch.345', 'If_25.then_branch.If_177.then_branch.415', 'If_25.then_branch.If_177.then_branch.417']);
    // 2 x 256 x 64 FLOPs per gate matrix and token
    expect(counted.reduce((s, l) => s + l.flops!, 0)).toBe(4 * 2 * 256 * 64);
    expect(r.detail.not_counted).toHaveLength(12);
    expect(r.detail.not_counted[0].reason).toBe('not counted: an ONNX If runs one branch per call, and If_25.then_branch is the one costed');
    // measured: 139,349,504 FLOPs per sample before (every branch), 12 x 32,768 fewer now
    expect(r.detail.b.flops).toBe(139349504 - 12 * 32768);
    expect(r.detail.b.ops).toBe(40);
  });

  it('gpt_step600 -> gpt_final_fp16 on a100: the line says why speed_ratio is 1.001 while the roofline halves', async () => {
    const r = await analyse([`${T}gpt_step600.safetensors`, `${T}gpt_final_fp16.safetensors`], { hardware_profile: 'a100' });
    const d = r.speed.detail;
    // 18 ops x 5 us = 90 us of overhead against 0.2454 us (A: 438,784 weight bytes + activations at 2,039 GB/s) and half of it for B
    expect(d.a.ops).toBe(18);
    expect(d.a.time1.overhead).toBeCloseTo(90e-6, 15);
    expect(d.a.time1.roofline * 1e6).toBeCloseTo(0.2454, 4);
    expect(d.b.time1.roofline / d.a.time1.roofline).toBeCloseTo(0.5, 12);
    expect(r.speed.speed_ratio).toBeCloseTo((90e-6 + d.a.time1.roofline) / (90e-6 + d.b.time1.roofline), 12);
    expect(r.lines.inference_speed_estimate).toContain('] at batch_tokens=512, confidence=0.09, ');
    expect(r.lines.inference_speed_estimate).toContain(
      "; roofline speedup 2x at batch 1, 2.307x at batch 512; at batch 1 the per-op overhead (18 ops x 5 us = 90 us) is most of the time (roofline 0.2454 us for A, 0.1227 us for B): it pulls speed_ratio toward 1 from the roofline's 2x",
    );
    expect(r.lines.performance_impact_estimate).toContain(
      "; roofline alone: latency -0.5, throughput at batch 512 1.307; at batch 1 the per-op overhead (18 ops x 5 us = 90 us) is most of the time (roofline 0.2454 us for A, 0.1227 us for B): it pulls latency_change toward 0 from the roofline's -0.5",
    );
    // the larger share of A and B: 90 / (90 + 0.1227) us for B
    expect(d.conditions.find((c) => c.kind === 'overhead_bound')!.detail).toBe('per-op overhead is 99.9 % of the time at batch 1 (5.0 us per op)');
  });

  it.each([
    ['trained/mlp_ep4.safetensors', 'trained/mlp_final_fp16.safetensors', 0.5, 'SQNR 73.64 dB'],
    ['trained/mlp_ep4.safetensors', 'trained/mlp_final_bf16.safetensors', 0.5, 'SQNR 55.66 dB'],
    ['trained/mlp_ep4.safetensors', 'trained/mlp_final_int8.safetensors', 0.7468, 'SQNR 42.33 dB'],
    ['npm/age_gender_model.dequant.safetensors', 'npm/age_gender_model.quantized.safetensors', 0.7451, 'SQNR 138.5 dB'],
  ])('%s -> %s keeps its figures: every tensor of B is in A or a scale of a converted one, so compression is 1 - bytes_B / bytes_A of the whole files', async (a, b, rounded, sqnr) => {
    const q = await analyse([a, b]);
    expect(q.quant.detail.excluded).toEqual([]);
    // header bytes, read independently: mlp 437,544 -> 218,772 / 218,772 / 110,800; age_gender 1,686,924 -> 429,964
    expect(q.quant.compression).toBeCloseTo(1 - safetensorsTensorBytes(b) / safetensorsTensorBytes(a), 15);
    expect(q.quant.compression).toBeCloseTo(rounded, 4);
    expect(q.lines.quantization_analysis).toContain(`; ${sqnr}; `);
  });
});

describe('#8 and #15 on the real models: overhead count, invalid input shapes, conv groups (second review)', () => {
  const CNN = [`${T}cnn_ep1.safetensors`, `${T}cnn_ep3.safetensors`];

  it('cnn_ep1 -> cnn_ep3 on a100 without an input shape: the overhead is 2 covered ops x 5 us = 10 us (the 4 convs and norms have no time)', async () => {
    const r = await analyse(CNN, { hardware_profile: 'a100' });
    const d = r.speed.detail;
    // fc and head are covered; conv1, conv2, bn1, bn2 are not
    expect([d.b.ops, d.b.time1.ops]).toEqual([6, 2]);
    expect(d.b.time1.overhead).toBeCloseTo(10e-6, 15);
    expect(r.lines.inference_speed_estimate).toContain('; at batch 1 the per-op overhead (2 covered ops x 5 us = 10 us; the 4 not covered have no time and no overhead) is most of the time');
    expect(r.lines.performance_impact_estimate).toContain('(2 covered ops x 5 us = 10 us; the 4 not covered have no time and no overhead)');
  });

  it('face_landmark_68_tiny_model dequant -> quantized: 1 covered op x 4.4 us = 4.4 us (17 conv kernels not covered)', async () => {
    const r = await analyse(['npm/face_landmark_68_tiny_model.dequant.safetensors', 'npm/face_landmark_68_tiny_model.quantized.safetensors']);
    const d = r.speed.detail;
    expect([d.a.ops, d.a.time1.ops, d.b.ops, d.b.time1.ops]).toEqual([18, 1, 18, 1]);
    expect(d.b.time1.overhead).toBeCloseTo(4.4e-6, 15);
    expect(r.lines.inference_speed_estimate).toContain('(1 covered op x 4.4 us = 4.4 us; the 17 not covered have no time and no overhead)');
  });

  it('the CNN with an input shape that fits no conv layer: coverage and confidence as without one, the mismatch named', async () => {
    const none = (await analyse(CNN)).speed;
    // covered fc 200,704 + head 1,280 FLOPs; uncovered at >= 49 positions (fc's 1568 = 32 x 49 inputs):
    // conv1 288, conv2 9216, bn1 80, bn2 160 FLOPs per position: 201984 / (201984 + 49 x 9744) = 0.29728
    expect(none.detail.coverage).toBeCloseTo(201984 / (201984 + 49 * 9744), 15);
    expect(none.detail.coverage).toBeCloseTo(0.2973, 4);
    expect(none.confidence).toBeCloseTo(0.3 * none.detail.coverage, 15);
    const noneNote = 'conv layers not covered; at least 49 output positions each (the flatten into fc.weight), used for the coverage bound';
    expect(none.detail.b.positions_note).toBe(noneNote);
    // 1,28 (wrong rank) gave coverage 0.954 and confidence 0.2862 before (uncovered convs at 1 position); 1,5,5 and
    // 1,1,1 were costed at 25 and 1 positions although fc needs 49 after the last conv
    for (const shape of ['1,28', '1,5,5', '1,1,1', '3,28,28']) {
      const r = (await analyse(CNN, { input_shape: shape })).speed;
      expect([r.detail.coverage, r.confidence], shape).toEqual([none.detail.coverage, none.confidence]);
      expect(r.detail.b.positions_note).toBe(noneNote);
      expect(r.detail.not_covered.map((x) => x.name)).toEqual(['conv1.weight', 'conv2.weight', 'bn1.weight', 'bn2.weight']);
      expect(new Set(r.detail.not_covered.map((x) => x.reason))).toEqual(new Set([`not covered: ${r.detail.input_shape_problem}`]));
    }
    const small = (await analyse(CNN, { input_shape: '1,5,5' })).speed;
    const why = 'the input shape 1,5,5 has 25 positions per channel, but fc.weight [64, 1568] after the last conv conv2.weight takes 1568 inputs = 32 channels x 49 positions, and same padding and downsampling never enlarge a map';
    expect(small.detail.input_shape_problem).toBe(why);
    expect(small.bottlenecks[0].name).toBe('fc.weight');
  });

  it('cnn_ep3 conv1 without an input shape is an ordinary conv from the depth order (groups 1), not depthwise', async () => {
    const r = (await analyse(CNN)).speed;
    const by = Object.fromEntries(r.detail.b.layers.map((l) => [l.name, l.conv_input]));
    expect(by['conv1.weight']).toEqual({ channels: 1, groups: 1, depthwise: false, source: 'first layer' });
    expect(by['conv2.weight']).toEqual({ channels: 16, groups: 1, depthwise: false, source: 'previous layer' });
  });

  it('the figures that stay: CNN at 1,28,28 (53,312 bytes for conv1, 2,328,192 FLOPs, conv2 the bottleneck), gpt fp16 on a100 and cpu', async () => {
    const cnn = (await analyse(CNN, { input_shape: '1,28,28' })).speed;
    const conv1 = cnn.detail.b.layers.find((l) => l.name === 'conv1.weight')!;
    expect([conv1.positions, conv1.bytes_per_item, conv1.conv_input?.source]).toEqual([784, 53312, 'input shape']);
    // conv1 2 x 144 x 784 + conv2 2 x 4608 x 196 + fc 2 x 64 x 1568 + head 2 x 10 x 64 + bn1 5 x 16 x 784 + bn2 5 x 32 x 196
    expect(cnn.detail.b.flops).toBe(2 * 144 * 784 + 2 * 4608 * 196 + 2 * 64 * 1568 + 2 * 10 * 64 + 5 * 16 * 784 + 5 * 32 * 196);
    expect(cnn.detail.b.flops).toBe(2328192);
    expect([cnn.detail.coverage, cnn.detail.b.time1.ops, cnn.bottlenecks[0].name]).toEqual([1, 6, 'conv2.weight']);
    const gpu = await analyse([`${T}gpt_step600.safetensors`, `${T}gpt_final_fp16.safetensors`], { hardware_profile: 'a100' });
    expect(gpu.speed.detail.roofline_speedup).toBeCloseTo(2, 12);
    expect(gpu.speed.speed_ratio).toBeCloseTo(1.001, 3);
    // every op of the GPT is covered: the sentence keeps "18 ops"
    expect(gpu.lines.inference_speed_estimate).toContain('(18 ops x 5 us = 90 us)');
    const cpu = (await analyse([`${T}gpt_step600.safetensors`, `${T}gpt_final_fp16.safetensors`])).speed;
    expect(cpu.speed_ratio!).toBeLessThan(1);
    expect(cpu.detail.roofline_speedup!).toBeLessThan(1);
    expect(cpu.detail.conditions.map((c) => c.kind)).toContain('not_native');
  });
});

describe('#6 parameter efficiency: non-finite values and the histogram resolution on the real models', () => {
  it.each([
    // numpy over the weight matrices the analysis lists: count of finite |w| < 0.1 x the tensor's RMS
    // (RMS over its finite elements) / their finite elements; erf(0.1 / sqrt 2) = 0.07965567455405796
    ['trained/mlp_ep2.safetensors', 'trained/mlp_ep4.safetensors', 8951, 109184],
    ['trained/gpt_step0.safetensors', 'trained/gpt_step600.safetensors', 7848, 98304],
    ['trained/cnn_ep1.safetensors', 'trained/cnn_ep3.safetensors', 7945, 105744],
    ['npm/ppocr_v2_cls.safetensors', 'npm/ppocr_v2_cls.safetensors', 11486, 124072],
  ])('%s -> %s at the default threshold 0.1 (a bin edge): the share is exact and compared with the baseline', async (a, b, below, over) => {
    const r = await analyse([a, b]);
    expect(r.eff.pruning_potential).toBe(below / over);
    expect(r.eff.detail.b.pruning_over).toBe(over);
    expect(r.eff.detail.b.pruning_bounds).toEqual([below / over, below / over]);
    expect(r.eff.detail.gaussian_baseline).toBeCloseTo(0.07965567455405796, 15);
    expect(r.eff.detail.baseline_comparable).toBe(true);
    expect(r.eff.detail.b.non_finite).toEqual([]);
    expect(r.lines.param_efficiency_analysis).toContain(' (gaussian baseline 0.07966); stable rank: ');
  });

  it('mlp_ep4 at pruning_threshold 0.001, below the 0.1-RMS bins: share approximate, the bounds contain the baseline, no side claimed', async () => {
    // numpy: 78 of the 109,184 weights are below 0.001 RMS (0.000714, under the baseline 0.000798); the
    // interpolation reads 0.01 of bin 0 (8951 weights): 0.0008198, over it
    const r = await analyse([`${T}mlp_ep2.safetensors`, `${T}mlp_ep4.safetensors`], { pruning_threshold: 0.001 });
    expect(r.eff.pruning_potential).toBeCloseTo((0.01 * 8951) / 109184, 12);
    const [lo, hi] = r.eff.detail.b.pruning_bounds!;
    expect([lo, hi]).toEqual([0, 8951 / 109184]);
    expect(78 / 109184).toBeLessThan(r.eff.detail.gaussian_baseline);
    expect(r.eff.detail.baseline_comparable).toBe(false);
    expect(r.lines.param_efficiency_analysis).toContain(
      "pruning_potential=8.198e-4 (gaussian baseline 7.979e-4; t=0.001 is below the histogram's resolution of 0.1 RMS: share approximate, exact in [0, 0.08198], above or below the baseline not decided)",
    );
  });

  it('mlp_final_naninf: the 3 non-finite values of fc1.weight are listed and left out of the pruning share', async () => {
    // numpy: fc1.weight has 1 non-finite value in each of rows 0, 64 and 127 (whose finite rest is live);
    // 8949 of the 109,181 finite weights are below 0.1 x their tensor's finite RMS
    const r = await analyse([`${T}mlp_ep4.safetensors`, `${T}mlp_final_naninf.safetensors`]);
    const b = r.eff.detail.b;
    expect(b.non_finite).toEqual([{ tensor: 'fc1.weight', values: 3, params: 100352, judged: true }]);
    expect([b.params, b.pruning_over, b.utilization_over]).toEqual([109184, 109181, 109184]);
    expect(r.eff.pruning_potential).toBe(8949 / 109181);
    expect(r.eff.utilization).toBe(1);
    expect(b.matrices.find((m) => m.tensor === 'fc1.weight')).toMatchObject({ non_finite_values: 3, units: 128, live_units: 128, units_apart: 0 });
    expect(r.eff.detail.a.non_finite).toEqual([]);
    expect(r.lines.param_efficiency_analysis).toContain('; non-finite values (shares over the finite elements): fc1.weight 3/100352; stable rank: ');
  });

  it('a NaN row through the engine (its norm over finite elements is 0): set apart, not a dead unit', async () => {
    // fc.weight [4, 6]: rows [0.01, 1 x 5], [1 x 6], [NaN x 6], [1 x 6] in B, all finite in A. Finite RMS
    // sqrt(17.0001 / 18): 1 of 18 below 0.1 RMS; 3 live units of 3 judged (counting the row dead: 0.75)
    const rows = (r2: number[]) => [0.01, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ...r2, 1, 1, 1, 1, 1, 1];
    const file = (name: string, r2: number[]) => writeTemp(`${name}.safetensors`, buildSafetensors({ 'fc.weight': { dtype: 'F32', shape: [4, 6], values: rows(r2) } }));
    const r = (await analyse([file('pe_row_a', [1, 1, 1, 1, 1, 1]), file('pe_row_b', new Array<number>(6).fill(NaN))])).eff;
    expect(r.utilization).toBe(1);
    expect(r.efficiency_ratio).toBe(1);
    expect(r.pruning_potential).toBeCloseTo(1 / 18, 15);
    expect(r.detail.b).toMatchObject({ params: 24, pruning_over: 18, utilization_over: 18, non_finite: [{ tensor: 'fc.weight', values: 6, params: 24, judged: true }] });
    expect(r.detail.b.matrices[0]).toMatchObject({ units: 4, live_units: 3, units_apart: 1 });
  });
});

describe('#6 on a matrix with one row (a Linear(64, 1) regression head)', () => {
  it('gets its small-weight share and a stable rank of 1, and counts in pruning_over', async () => {
    const t = readSafetensors(`${T}mlp_ep4.safetensors`);
    const row = valuesOf(t['head.weight']).slice(0, 64);
    t['head.weight'] = { dtype: 'F32', shape: [1, 64], bytes: f32(row) };
    delete t['head.bias'];
    const file = writeTemp('mlp_regression_head.safetensors', buildSafetensors(t));
    const config: Config = structuredClone(DEFAULT_CONFIG);
    config.ml_analysis.param_efficiency_analysis = true;
    const report = await compare([file, file], { config });
    const eff = report.analyses.find((a) => a.key === 'param_efficiency_analysis')!.result as ParamEfficiencyResult;
    const head = eff.detail.b.matrices.find((m) => m.tensor === 'head.weight')!;
    // a rank-one matrix: sigma_max^2 = ||w||^2, so the stable rank is 1
    expect(head.stable_rank!).toBeCloseTo(1, 6);
    const f = row.map((x) => Math.fround(x));
    const rms = Math.sqrt(f.reduce((s, x) => s + x * x, 0) / f.length);
    expect(head.small_share).toBe(f.filter((x) => Math.abs(x) < 0.1 * rms).length / 64);
    expect(eff.detail.b.pruning_over).toBe(eff.detail.b.params);
  });
});
