/**
 * Bytes of an input by class, from the real stored dtypes (`InputInfo.entries`).
 *
 * @module
 */
import type { InputInfo } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import { tensorRole } from '../structure/tensorRole.js';

/** Bytes of one input by class. */
export interface ModelBytes {
  /** Every tensor except optimizer state (what inference loads): parameters, buffers, constants, quantization parameters. */
  model: number;
  /** Float parameters (weights, embeddings, biases, norm gains) and integer-coded weights. */
  parameters: number;
  /** Scales, zero points and minimums of quantized tensors. */
  quant_params: number;
  /** BatchNorm running statistics and other buffers. */
  buffers: number;
  /** Integer / bool tensors that are not weights (counters, ONNX shape constants) and graph constants. */
  constants: number;
  /** Optimizer state (exp_avg, exp_avg_sq, step, momentum), not counted in `model`. */
  optimizer: number;
  /** Tied aliases: 0 bytes each (storage shared), listed by count. */
  aliases: number;
  /** Elements of the parameter tensors. */
  parameter_count: number;
}

/**
 * Classifies every tensor of an input by its role (`lib/structure/tensorRole.ts`; the format's own role first: `optimizer`,
 * `quant_scale`, `quant_zero_point`, `quantized`) and sums its stored bytes.
 */
export function modelBytes(input: Pick<InputInfo, 'entries'>): ModelBytes {
  const names = new Set(input.entries.map((e) => e.name));
  const out: ModelBytes = { model: 0, parameters: 0, quant_params: 0, buffers: 0, constants: 0, optimizer: 0, aliases: 0, parameter_count: 0 };
  for (const e of input.entries) {
    if (e.aliasOf !== undefined) {
      out.aliases++;
      continue;
    }
    const role = tensorRole(e.name, e.shape, names);
    if (e.role === 'optimizer' || role === 'optimizer_state') {
      out.optimizer += e.bytes;
      continue;
    }
    out.model += e.bytes;
    if (e.role === 'quant_scale' || e.role === 'quant_zero_point' || role === 'quant_scale') out.quant_params += e.bytes;
    else if (role === 'buffer') out.buffers += e.bytes;
    else if (role === 'constant' || (DTYPES[e.dtype].kind !== 'float' && e.role !== 'quantized' && !(e.shape.length >= 2))) out.constants += e.bytes;
    else {
      out.parameters += e.bytes;
      out.parameter_count += e.count;
    }
  }
  return out;
}
