// Deterministic model pairs for the benchmark (safetensors, written in chunks: nothing model-sized is
// held in memory).
//
// Values come from a fixed table of 65,536 standard normal samples indexed by a seeded xorshift32
// stream, scaled per tensor like trained weights: matrices N(0, 0.02), LayerNorm / RMSNorm gains
// around 1, biases near 0. In B, a "changed" tensor gets a small update on most elements:
//   F32:  b = a + N(0, 1) * std * 1e-3 (a fine-tuning step)
//   F16:  the two low mantissa bits of a are XORed with random bits (|B-A| <= 3 ulp)
//   BF16: the low mantissa bit is XORed with a random bit (1 ulp)
// Unchanged tensors are byte-identical in A and B.
import { closeSync, openSync, writeSync } from 'node:fs';

/** GPT-2 small (124M parameters) in Hugging Face `transformers` names, without the attn.bias buffers. */
export function gpt2SmallTensors() {
  const d = 768;
  const out = [
    { name: 'wte.weight', shape: [50257, d], init: 'normal' },
    { name: 'wpe.weight', shape: [1024, d], init: 'normal' },
  ];
  for (let l = 0; l < 12; l++) {
    const p = `h.${l}.`;
    out.push(
      { name: `${p}ln_1.weight`, shape: [d], init: 'gain' },
      { name: `${p}ln_1.bias`, shape: [d], init: 'bias' },
      { name: `${p}attn.c_attn.weight`, shape: [d, 3 * d], init: 'normal' },
      { name: `${p}attn.c_attn.bias`, shape: [3 * d], init: 'bias' },
      { name: `${p}attn.c_proj.weight`, shape: [d, d], init: 'normal' },
      { name: `${p}attn.c_proj.bias`, shape: [d], init: 'bias' },
      { name: `${p}ln_2.weight`, shape: [d], init: 'gain' },
      { name: `${p}ln_2.bias`, shape: [d], init: 'bias' },
      { name: `${p}mlp.c_fc.weight`, shape: [d, 4 * d], init: 'normal' },
      { name: `${p}mlp.c_fc.bias`, shape: [4 * d], init: 'bias' },
      { name: `${p}mlp.c_proj.weight`, shape: [4 * d, d], init: 'normal' },
      { name: `${p}mlp.c_proj.bias`, shape: [d], init: 'bias' },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [d], init: 'gain' }, { name: 'ln_f.bias', shape: [d], init: 'bias' });
  return out;
}

/**
 * A Llama-style decoder of about 0.5B parameters (Qwen2-0.5B's shape: hidden 896, 24 layers,
 * intermediate 4864, GQA with 2 KV heads of 64, vocabulary 151,936, tied head): about 1 GB at 2 bytes.
 */
export function llamaHalfBTensors() {
  const d = 896;
  const kv = 128;
  const ff = 4864;
  const out = [{ name: 'model.embed_tokens.weight', shape: [151936, d], init: 'normal' }];
  for (let l = 0; l < 24; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      { name: `${p}input_layernorm.weight`, shape: [d], init: 'gain' },
      { name: `${p}self_attn.q_proj.weight`, shape: [d, d], init: 'normal' },
      { name: `${p}self_attn.q_proj.bias`, shape: [d], init: 'bias' },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, d], init: 'normal' },
      { name: `${p}self_attn.k_proj.bias`, shape: [kv], init: 'bias' },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, d], init: 'normal' },
      { name: `${p}self_attn.v_proj.bias`, shape: [kv], init: 'bias' },
      { name: `${p}self_attn.o_proj.weight`, shape: [d, d], init: 'normal' },
      { name: `${p}post_attention_layernorm.weight`, shape: [d], init: 'gain' },
      { name: `${p}mlp.gate_proj.weight`, shape: [ff, d], init: 'normal' },
      { name: `${p}mlp.up_proj.weight`, shape: [ff, d], init: 'normal' },
      { name: `${p}mlp.down_proj.weight`, shape: [d, ff], init: 'normal' },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [d], init: 'gain' });
  return out;
}

/** `count` tensors of `size` elements each (the per-tensor overhead case). */
export function manySmallTensors(count, size) {
  const out = [];
  for (let i = 0; i < count; i++) out.push({ name: `t.${i}`, shape: [size], init: 'normal' });
  return out;
}

const SIZE = { F32: 4, F16: 2, BF16: 2 };
const CHUNK = 1 << 20; // elements per write

/** mulberry32: a seeded uniform generator in [0, 1) (the same stream as lib/linalg/seededRandom.ts). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let normalTable;
/** 65,536 standard normal samples (Box-Muller on a fixed seed). */
function normals() {
  if (normalTable) return normalTable;
  const u = mulberry32(0x5eed);
  normalTable = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) normalTable[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return normalTable;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> binary16 bits, round to nearest even. */
function f16Bits(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}

/** float32 -> bfloat16 bits, round to nearest even (finite inputs). */
function bf16Bits(v) {
  f32[0] = v;
  const x = u32[0];
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function scaleOf(init) {
  switch (init) {
    case 'gain':
      return { mean: 1, std: 0.02 };
    case 'bias':
      return { mean: 0, std: 0.002 };
    default:
      return { mean: 0, std: 0.02 };
  }
}

const tables = new Map();
/** The table of element values of a tensor, in the target dtype's bits (F32: Float32Array). */
function valueTable(dtype, init) {
  const key = `${dtype}/${init}`;
  if (!tables.has(key)) tables.set(key, makeValueTable(dtype, init));
  return tables.get(key);
}

function makeValueTable(dtype, init) {
  const t = normals();
  const { mean, std } = scaleOf(init);
  if (dtype === 'F32') return t.map((z) => mean + z * std);
  const bits = dtype === 'F16' ? f16Bits : bf16Bits;
  const out = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) out[i] = bits(mean + t[i] * std);
  return out;
}

function header(tensors, dtype) {
  const obj = { __metadata__: { format: 'pt', generator: 'diffai bench/generate.js' } };
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((x, y) => x * y, 1);
    const bytes = count * SIZE[dtype];
    obj[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'latin1');
  return { head, dataBytes: offset };
}

/**
 * Writes `a.safetensors` and `b.safetensors` of the given tensors in `dtype`, B differing from A on
 * the tensors for which `changed(name, index)` is true.
 *
 * @returns the two paths, the byte sizes and the number of changed tensors.
 */
export function writeModelPair(pathA, pathB, tensors, dtype, changed, seed = 1) {
  const { head, dataBytes } = header(tensors, dtype);
  const fa = openSync(pathA, 'w');
  const fb = openSync(pathB, 'w');
  let nChanged = 0;
  try {
    writeSync(fa, head);
    writeSync(fb, head);
    const size = SIZE[dtype];
    const bufA = new ArrayBuffer(CHUNK * size);
    const bufB = new ArrayBuffer(CHUNK * size);
    const noise = normals();
    let s = (seed * 2654435761) >>> 0 || 1;
    tensors.forEach((t, index) => {
      const count = t.shape.reduce((x, y) => x * y, 1);
      const isChanged = changed(t.name, index);
      if (isChanged) nChanged++;
      const table = valueTable(dtype, t.init);
      const upd = scaleOf(t.init).std * 1e-3;
      for (let start = 0; start < count; start += CHUNK) {
        const n = Math.min(CHUNK, count - start);
        if (dtype === 'F32') {
          const a = new Float32Array(bufA, 0, n);
          const b = new Float32Array(bufB, 0, n);
          for (let i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            a[i] = table[s & 0xffff];
            b[i] = isChanged ? a[i] + noise[(s >>> 16) & 0xffff] * upd : a[i];
          }
        } else {
          const a = new Uint16Array(bufA, 0, n);
          const b = new Uint16Array(bufB, 0, n);
          const mask = dtype === 'F16' ? 3 : 1;
          for (let i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            const v = table[s & 0xffff];
            a[i] = v;
            b[i] = isChanged ? v ^ ((s >>> 16) & mask) : v;
          }
        }
        writeSync(fa, new Uint8Array(bufA, 0, n * size));
        writeSync(fb, new Uint8Array(bufB, 0, n * size));
      }
    });
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
  return { a: pathA, b: pathB, bytes: head.length + dataBytes, tensors: tensors.length, changed: nChanged };
}
