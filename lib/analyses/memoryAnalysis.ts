/**
 * #7 `--memory-analysis`: delta, gpu_est, efficiency (SPEC section 3, row 7).
 *
 * @module
 */
import type { InputInfo } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';
import { entryClasses, modelBytes, type ModelBytes } from './modelBytes.js';
import { tensorRole } from '../structure/tensorRole.js';

const MIB = 1024 * 1024;

/** Bytes per parameter of training with Adam (ZeRO, Rajbhandari et al., SC 2020, section 3.1). */
export const ADAM_BYTES = {
  /** F32 training: weights 4 + gradients 4 + exp_avg 4 + exp_avg_sq 4. */
  fp32: { weights: 4, gradients: 4, master: 0, moments: 8 },
  /** Mixed precision (F16 / BF16 weights): weights 2 + gradients 2 + F32 master copy 4 + two F32 moments 8. */
  mixed: { weights: 2, gradients: 2, master: 4, moments: 8 },
} as const;

/** The Adam training estimate of one input. */
export interface TrainingEstimate {
  /** `fp32` (F32 / F64 parameters) or `mixed` (F16 / BF16 parameters, or integer codes trained as their float model in mixed precision). */
  precision: 'fp32' | 'mixed';
  /** Trainable parameters (weights, embeddings, biases, norm gains; not buffers, constants, quantization parameters). */
  parameters: number;
  bytes_per_parameter: number;
  /** Weights + gradients + F32 master copy (mixed) + two Adam moments, bytes. Activations are not included. */
  bytes: number;
  assumption: string;
}

/** Per-input figures. */
export interface MemoryInput {
  path: string;
  bytes: ModelBytes;
  /** Model parameters: elements of the parameter tensors (floats or integer codes; not scales, zero points, buffers, constants, optimizer state, aliases). */
  params: number;
  /** model bytes x inference_memory_factor. */
  gpu_est: number;
  /** 4 x params / bytes of the parameters and their quantization parameters: parameters per byte relative to F32 (1 for an F32 model, 2 for F16, ~4 for int8). */
  efficiency: number | null;
  training: TrainingEstimate;
}

/** Result of #7. */
export interface MemoryResult extends AnalysisResult {
  /** bytes_B - bytes_A (model tensors, real dtypes, scales included, optimizer state apart), bytes. */
  delta: number;
  /** Estimated accelerator memory for inference of B: its model bytes x inference_memory_factor, bytes. */
  gpu_est: number;
  /** Parameters per byte of B relative to F32. */
  efficiency: number | null;
  detail: {
    a: MemoryInput;
    b: MemoryInput;
    inference_memory_factor: number;
    limit_mb: number;
    /** gpu_est of B over the limit. */
    exceeds_limit: boolean;
    /** Tensors whose stored bytes differ, largest change first (sums to `delta`). */
    changes: { tensor: string; bytes_a: number; bytes_b: number; delta: number }[];
    /** The sum of `changes[].delta` (equals `delta`). */
    changes_total: number;
  };
}

function training(input: InputInfo): TrainingEstimate {
  const classes = entryClasses(input.entries);
  let fp32 = 0;
  let mixed = 0;
  let coded = 0;
  for (const [i, e] of input.entries.entries()) {
    if (classes[i] !== 'parameter') continue;
    if (DTYPES[e.dtype].kind === 'int') {
      coded += e.count;
      continue;
    }
    if (e.dtype === 'F16' || e.dtype === 'BF16' || e.dtype === 'F8_E4M3' || e.dtype === 'F8_E5M2' || e.dtype === 'Q8_0') mixed += e.count;
    else fp32 += e.count;
  }
  const parameters = fp32 + mixed + coded;
  const precision = fp32 >= mixed + coded ? 'fp32' : 'mixed';
  const per = ADAM_BYTES[precision];
  const bpp = per.weights + per.gradients + per.master + per.moments;
  const assumption =
    precision === 'fp32'
      ? 'F32 training with Adam: 4 bytes of weights, 4 of gradients and 8 of moments per parameter (ZeRO, Rajbhandari et al. 2020); activations not included'
      : `mixed-precision training with Adam: 2 bytes of F16/BF16 weights, 2 of gradients, 4 of F32 master weights and 8 of F32 moments per parameter (ZeRO, Rajbhandari et al. 2020)${coded > 0 ? '; integer-coded weights are counted as the float model they quantize' : ''}; activations not included`;
  return { precision, parameters, bytes_per_parameter: bpp, bytes: parameters * bpp, assumption };
}

function inputFigures(input: InputInfo, factor: number): MemoryInput {
  const bytes = modelBytes(input);
  const params = bytes.parameter_count;
  return {
    path: input.path,
    bytes,
    params,
    gpu_est: bytes.model * factor,
    efficiency: bytes.parameters + bytes.quant_params > 0 ? jsonNumber((4 * params) / (bytes.parameters + bytes.quant_params)) : null,
    training: training(input),
  };
}

function mib(bytes: number): string {
  return `${formatNumber(bytes / MIB)} MiB`;
}

/**
 * #7 on the first and last input.
 *
 * - Bytes are the real stored bytes of every tensor (`InputInfo.entries`: Q8_0 34 per 32 elements,
 *   integer codes 1 byte, scale / zero-point tensors counted, a tied alias 0), optimizer state apart.
 * - delta = bytes_B - bytes_A, equal to the sum of the per-tensor byte changes listed in the detail.
 * - gpu_est = B's bytes x `inference_memory_factor` (1.2: EleutherAI, "Transformer Math 101", 2023:
 *   inference needs about 20 % over the weights for activations, workspace and allocator).
 * - efficiency = 4 x parameters / (bytes of the parameters + their scales, zero points, minimums) of B:
 *   parameters per byte relative to F32 (buffers and constants are not in it), parameters as
 *   {@link entryClasses} counts them (not scales, zero points, buffers, constants: a model and its
 *   quantized copies have the same count).
 * - detail: the Adam training estimate (ZeRO: 16 bytes per parameter, F32 or mixed precision),
 *   and the comparison with `memory_limit_mb` (`[WARNING]` when gpu_est exceeds it).
 */
export const memoryAnalysis: Analysis<MemoryResult> = {
  key: 'memory_analysis',
  needs: {},
  run({ run, config }: AnalysisContext): MemoryResult {
    const th = config.thresholds;
    const d = run.overall;
    const a = inputFigures(run.inputs[d.from], th.inference_memory_factor);
    const b = inputFigures(run.inputs[d.to], th.inference_memory_factor);
    const bytesOf = (input: InputInfo) => {
      const names = new Set(input.entries.map((e) => e.name));
      const m = new Map<string, number>();
      for (const e of input.entries) if (e.role !== 'optimizer' && tensorRole(e.name, e.shape, names) !== 'optimizer_state') m.set(e.name, (m.get(e.name) ?? 0) + e.bytes);
      return m;
    };
    const ba = bytesOf(run.inputs[d.from]);
    const bb = bytesOf(run.inputs[d.to]);
    const changes: MemoryResult['detail']['changes'] = [];
    for (const name of new Set([...ba.keys(), ...bb.keys()])) {
      const x = ba.get(name) ?? 0;
      const y = bb.get(name) ?? 0;
      if (x !== y) changes.push({ tensor: name, bytes_a: x, bytes_b: y, delta: y - x });
    }
    changes.sort((p, q) => Math.abs(q.delta) - Math.abs(p.delta) || p.tensor.localeCompare(q.tensor));
    const limit = th.memory_limit_mb * MIB;
    const exceeds = b.gpu_est > limit;
    const level: AnalysisLevel | undefined = exceeds ? 'WARNING' : undefined;
    return {
      delta: b.bytes.model - a.bytes.model,
      gpu_est: b.gpu_est,
      efficiency: b.efficiency,
      reasons: b.efficiency === null ? { efficiency: 'B has no parameter bytes' } : {},
      ...(level ? { level } : {}),
      detail: {
        a,
        b,
        inference_memory_factor: th.inference_memory_factor,
        limit_mb: th.memory_limit_mb,
        exceeds_limit: exceeds,
        changes,
        changes_total: changes.reduce((s, c) => s + c.delta, 0),
      },
    };
  },
  format(r: MemoryResult): string[] {
    const d = r.detail;
    const sign = r.delta > 0 ? '+' : '';
    let line = formatFields(
      'memory_analysis',
      [
        ['delta', `${sign}${r.delta} bytes (${sign}${mib(r.delta)})`],
        ['gpu_est', `${mib(r.gpu_est)} (${formatNumber(d.inference_memory_factor)} x ${mib(d.b.bytes.model)} of weights)`],
        ['efficiency', r.efficiency],
      ],
      r.reasons,
    );
    line += `; ${d.exceeds_limit ? 'over' : 'within'} the ${formatNumber(d.limit_mb)} MiB limit; Adam training of B: ${mib(d.b.training.bytes)} (${d.b.training.bytes_per_parameter} bytes x ${d.b.training.parameters} parameters, ${d.b.training.precision === 'fp32' ? 'F32' : 'mixed precision'})`;
    if (d.b.bytes.optimizer > 0 || d.a.bytes.optimizer > 0) line += `; optimizer state stored apart: ${mib(d.a.bytes.optimizer)} -> ${mib(d.b.bytes.optimizer)}`;
    return [line];
  },
};
