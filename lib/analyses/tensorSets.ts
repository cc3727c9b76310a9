/**
 * The set S of SPEC section 3 (Notation) for one pair, and the tensors reported apart from it.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { ModelDiff, TensorDiff } from '../diff/ModelDiff.js';
import { NON_PARAMETER_ROLES, tensorRole, type TensorRole } from '../structure/tensorRole.js';

/** A tensor of S with the figures every analysis uses. */
export interface PooledTensor {
  name: string;
  role: TensorRole;
  tensor: TensorDiff;
  /** Elements. */
  count: number;
  /** ||A_t|| and ||B_t|| over finite elements. */
  normA: number;
  normB: number;
  /** ||D_t|| over positions where both are finite. */
  normD: number;
  /** r_t = ||D_t|| / ||A_t||; null when A_t is all zeros (an infinite relative update). */
  r: number | null;
  /** ||B_t|| / ||A_t||; null when A_t is all zeros. */
  growth: number | null;
  /** Cosine similarity of A_t and B_t; null when a side is all zeros. */
  cosine: number | null;
  /** A_t is all zeros and B_t is not: the tensor moved from zero (zero-initialised biases). */
  fromZero: boolean;
}

/** Why a tensor present on both sides with equal shape is kept out of S. */
export type ApartReason = 'integer' | 'bool' | 'buffer' | 'constant' | 'optimizer_state' | 'quant_scale' | 'alias';

/** A matched tensor reported apart: never pooled into R, stability, the frozen tests or flow. */
export interface ApartTensor {
  name: string;
  reason: ApartReason;
  role: TensorRole;
  status: TensorDiff['status'];
  dtype: [string | null, string | null];
  /** Its own rel_l2 (null when not finite or not comparable), so a changed counter is still visible. */
  rel_l2: number | null;
}

/** S and the tensors reported apart, for one pair. */
export interface TensorSets {
  /** S: floating-point model parameters present in both with equal shape (pair statistics available). */
  pooled: PooledTensor[];
  /** Matched tensors kept out of S, with the reason. */
  apart: ApartTensor[];
  /** Names of tensors not matched with equal shape (added, removed, shape changed). */
  unmatched: { name: string; status: TensorDiff['status'] }[];
}

/**
 * Splits the tensors of one pair into S and the rest.
 *
 * S (SPEC section 3, Notation) = tensors present in both with equal shape whose dtype is floating point on
 * both sides (F64/F32/F16/BF16/F8, and Q8_0, which the readers dequantize), and which are model parameters.
 * Kept apart, with a reason: integer and bool tensors (counters such as BatchNorm `num_batches_tracked`,
 * ONNX I64 shape constants, integer-quantized weights), BatchNorm running statistics and other buffers,
 * ONNX graph constants, optimizer state, quantization scales, and tied aliases (a tensor that shares
 * storage with another would be counted twice).
 *
 * BatchNorm `running_mean` / `running_var` are excluded although they are float: they are moving averages
 * of activation statistics updated by momentum, not parameters updated by the optimizer, and their scale is
 * the activations', not the weights'. (On the real CNN, cnn_ep1 -> cnn_ep3, R over S is 0.2411; the two
 * I64 `num_batches_tracked` counters, 94 -> 282, would make it 1.994.)
 *
 * @param diff - the pair.
 */
export function tensorSets(diff: ModelDiff): TensorSets {
  const names = new Set(diff.tensors.map((t) => t.name));
  const pooled: PooledTensor[] = [];
  const apart: ApartTensor[] = [];
  const unmatched: TensorSets['unmatched'] = [];
  for (const t of diff.tensors) {
    const shape = t.shape[0] ?? t.shape[1] ?? [];
    const role = tensorRole(t.name, shape, names);
    if (t.diff === null || t.stats.a === null || t.stats.b === null) {
      unmatched.push({ name: t.name, status: t.status });
      continue;
    }
    const kinds = t.dtype.map((d) => (d === null ? null : DTYPES[d].kind));
    let reason: ApartReason | null = null;
    if (kinds.includes('bool')) reason = 'bool';
    else if (kinds.includes('int')) reason = 'integer';
    else if (NON_PARAMETER_ROLES.has(role)) reason = role as ApartReason;
    else if ((t.aliasOf?.[0] ?? null) !== null || (t.aliasOf?.[1] ?? null) !== null) reason = 'alias';
    if (reason !== null) {
      apart.push({
        name: t.name,
        reason,
        role,
        status: t.status,
        dtype: [t.dtype[0], t.dtype[1]],
        rel_l2: Number.isFinite(t.diff.rel_l2) ? t.diff.rel_l2 : null,
      });
      continue;
    }
    pooled.push(pooledTensor(t, role));
  }
  return { pooled, apart, unmatched };
}

function pooledTensor(t: TensorDiff, role: TensorRole): PooledTensor {
  const a = t.stats.a!;
  const b = t.stats.b!;
  const d = t.diff!;
  const normA = finiteOr0(a.l2);
  const normB = finiteOr0(b.l2);
  const normD = finiteOr0(d.l2_diff);
  const zeroA = normA === 0;
  const cos = Number.isFinite(d.cosine) && normA > 0 && normB > 0 ? d.cosine : null;
  return {
    name: t.name,
    role,
    tensor: t,
    count: a.count,
    normA,
    normB,
    normD,
    r: zeroA ? (normD === 0 ? 0 : null) : normD / normA,
    growth: zeroA ? (normB === 0 ? 1 : null) : normB / normA,
    cosine: cos,
    fromZero: zeroA && normB > 0,
  };
}

function finiteOr0(x: number): number {
  return Number.isFinite(x) ? x : 0;
}
