/**
 * Bytes of an input by class, from the real stored dtypes (`InputInfo.entries`), and the one rule that
 * says which stored tensors are model parameters ({@link entryClasses}), shared by #5, #6 and #7.
 *
 * @module
 */
import type { InputInfo, TensorEntry } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import { tensorRole } from '../structure/tensorRole.js';
import { QUANT_PARAM_SUFFIXES as QUANT_SUFFIXES } from '../quant/quantParamSuffixes.js';

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
  /** Elements of the parameter tensors (class `parameter` of {@link entryClasses}). */
  parameter_count: number;
}

/**
 * What a stored tensor is:
 *
 * - `parameter`: a weight, bias, norm gain, embedding or other trained tensor of the model, stored as
 *   floats or as the integer codes of a quantized tensor;
 * - `quant_param`: a scale, zero point or minimum of a quantized tensor;
 * - `buffer`: running statistics and fixed buffers;
 * - `constant`: graph constants, integer / bool tensors that are not quantized weights (I64 counters and
 *   shape constants);
 * - `optimizer`: optimizer state;
 * - `alias`: a tied alias of another tensor (its storage is the other tensor's).
 */
export type EntryClass = 'parameter' | 'quant_param' | 'buffer' | 'constant' | 'optimizer' | 'alias';


/** Integer dtypes of at most 16 bits: the dtypes of weight codes stored without their scales. */
const CODE_DTYPES = new Set(['I8', 'U8', 'I16', 'U16']);

/** The module of a tensor name: everything before its last `.` or `/`, or null. */
function moduleOf(name: string): string | null {
  const i = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return i > 0 ? name.slice(0, i) : null;
}

/**
 * The class of every entry of an input (same order), first rule that holds:
 *
 * 1. `alias`: the format records it as sharing another tensor's storage (a tied `lm_head.weight`);
 * 2. `optimizer`: the format's role `optimizer`, or the role `optimizer_state` by name (`optimizer.*`,
 *    `exp_avg`, `exp_avg_sq`, `momentum_buffer`);
 * 3. `quant_param`: the format's roles `quant_scale` / `quant_zero_point`; the role `quant_scale` by name
 *    (`<name>_scale`, `<name>.scale`, `<name>.q_scale`, `<name>.q_min`, `<name>_zero_point`,
 *    `<name>.zero_point` beside a tensor `<name>`); or the same suffixes after a module that holds integer
 *    codes (`fc1.scale`, `fc1.zero_point` beside the codes `fc1.weight` of a torch dynamic-quantized
 *    Linear; a Flax `norm.scale` beside a float `norm.bias` is a parameter);
 * 4. `buffer` / `constant`: the roles of the same name (`lib/structure/tensorRole.ts`);
 * 5. bool tensors: `constant`;
 * 6. integer tensors: `parameter` when they are codes of a quantized tensor (the format's role
 *    `quantized`, or quantization parameters stored beside them, or >= 2 dimensions of an 8- or 16-bit
 *    dtype), else `constant` (I64 counters, ONNX shape constants);
 * 7. every float tensor left: `parameter`.
 */
export function entryClasses(entries: readonly TensorEntry[]): EntryClass[] {
  const names = new Set(entries.map((e) => e.name));
  const hasQuantParams = (name: string) => QUANT_SUFFIXES.some((s) => names.has(name + s));
  const isCodes = (e: TensorEntry) => DTYPES[e.dtype].kind === 'int' && (e.role === 'quantized' || hasQuantParams(e.name) || (e.shape.length >= 2 && CODE_DTYPES.has(e.dtype)));
  const codedModules = new Set<string>();
  for (const e of entries) {
    const m = moduleOf(e.name);
    if (m !== null && e.aliasOf === undefined && isCodes(e)) codedModules.add(m);
  }
  const ofCodedModule = (name: string) => QUANT_SUFFIXES.some((s) => name.endsWith(s) && codedModules.has(name.slice(0, -s.length)));
  return entries.map((e): EntryClass => {
    if (e.aliasOf !== undefined) return 'alias';
    const role = tensorRole(e.name, e.shape, names);
    if (e.role === 'optimizer' || role === 'optimizer_state') return 'optimizer';
    if (e.role === 'quant_scale' || e.role === 'quant_zero_point' || role === 'quant_scale' || ofCodedModule(e.name)) return 'quant_param';
    if (role === 'buffer') return 'buffer';
    if (role === 'constant') return 'constant';
    const kind = DTYPES[e.dtype].kind;
    if (kind === 'bool') return 'constant';
    if (kind === 'int') return isCodes(e) ? 'parameter' : 'constant';
    return 'parameter';
  });
}

/**
 * Classifies every tensor of an input ({@link entryClasses}) and sums its stored bytes; the parameter
 * count is the elements of the `parameter` tensors, the same for a model and its quantized copies.
 */
export function modelBytes(input: Pick<InputInfo, 'entries'>): ModelBytes {
  const out: ModelBytes = { model: 0, parameters: 0, quant_params: 0, buffers: 0, constants: 0, optimizer: 0, aliases: 0, parameter_count: 0 };
  const classes = entryClasses(input.entries);
  input.entries.forEach((e, i) => {
    switch (classes[i]) {
      case 'alias':
        out.aliases++;
        return;
      case 'optimizer':
        out.optimizer += e.bytes;
        return;
      case 'quant_param':
        out.quant_params += e.bytes;
        break;
      case 'buffer':
        out.buffers += e.bytes;
        break;
      case 'constant':
        out.constants += e.bytes;
        break;
      case 'parameter':
        out.parameters += e.bytes;
        out.parameter_count += e.count;
        break;
    }
    out.model += e.bytes;
  });
  return out;
}
