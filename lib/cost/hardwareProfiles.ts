/**
 * Hardware profiles of the cost model (SPEC #8): per-dtype peak arithmetic rates with a `native` flag,
 * memory bandwidth, last-level cache size and a per-op overhead. A dtype the hardware does not compute
 * natively is converted to F32 before the product (`layerCosts.ts`), so it is never faster than F32.
 *
 * @module
 */
import type { HardwareProfileName } from '../config/Config.js';

/** The arithmetic a layer runs in: float types by width, and 8-bit integer dot products. */
export type ComputeType = 'F64' | 'F32' | 'F16' | 'BF16' | 'F8' | 'INT8';

/** Every compute type. */
export const COMPUTE_TYPES: readonly ComputeType[] = ['F64', 'F32', 'F16', 'BF16', 'F8', 'INT8'];

/** One hardware profile. Rates in operations per second (a multiply-add is 2), bytes in bytes. */
export interface HardwareProfile {
  name: HardwareProfileName;
  description: string;
  /** Peak operations per second per compute type (for a non-native type: the F32 rate it runs at). */
  peak: Readonly<Record<ComputeType, number>>;
  /** Whether the hardware computes the type natively (else it is converted to F32). */
  native: Readonly<Record<ComputeType, boolean>>;
  /** Sustained memory read bandwidth, bytes per second. */
  bandwidth: number;
  /** Last-level cache in bytes: weights that fit are read from cache, which the roofline does not model. */
  llc_bytes: number;
  /** Fixed cost per op (a kernel launch, a framework dispatch), seconds. */
  op_overhead: number;
  /** Where every figure comes from. */
  sources: string[];
}

const G = 1e9;
const T = 1e12;

/**
 * `cpu`: this machine class, a 2-core AMD EPYC (Zen 4) VM with AVX-512 (F, BW, DQ, VL, BF16, VNNI) and
 * 32 MiB of L3, measured on 2026-11-29 with `native/tools/peak_probe.cc` (both cores; best of 3 runs
 * per figure, bandwidth the median of 5 two-thread runs) and, for the per-op overhead, PyTorch 1.13
 * eager `nn.Linear(4, 4)` on a [1, 4] input (best of 5 x 20,000 calls, 2 threads).
 * Measured: F32 FMA 104 GFLOP/s (52 per core), F64 52, BF16 `vdpbf16ps` 224, INT8 `vpdpbusd` 450 GOP/s,
 * read bandwidth 31 GB/s (25-43 over runs on a shared host; 23 on one core), 4.4 us per op.
 * No AVX512-FP16: F16 has no native arithmetic (PyTorch 1.13 has no F16 `addmm` on CPU at all).
 */
const CPU: HardwareProfile = {
  name: 'cpu',
  description: 'this machine class: 2-core AMD EPYC (Zen 4) with AVX-512 BF16 and VNNI, 32 MiB L3 (measured)',
  peak: { F64: 52 * G, F32: 104 * G, F16: 104 * G, BF16: 224 * G, F8: 104 * G, INT8: 450 * G },
  native: { F64: true, F32: true, F16: false, BF16: true, F8: false, INT8: true },
  bandwidth: 31 * G,
  llc_bytes: 32 * 1024 * 1024,
  op_overhead: 4.4e-6,
  sources: [
    'peaks and bandwidth measured 2026-11-29 by native/tools/peak_probe.cc on this machine class (2 cores)',
    'L3 size from /sys/devices/system/cpu/cpu0/cache/index3/size (32768K)',
    'per-op overhead: PyTorch 1.13 eager nn.Linear(4, 4), 4.4 us per call, measured 2026-11-29',
  ],
};

/**
 * `a100`: NVIDIA A100 SXM4 80GB, from the NVIDIA A100 Tensor Core GPU datasheet: FP64 tensor core
 * 19.5 TFLOPS, FP32 19.5 TFLOPS, BF16 / FP16 tensor core 312 TFLOPS (dense), INT8 tensor core 624 TOPS
 * (dense), HBM2e 2,039 GB/s, 40 MB L2. TF32 (156 TFLOPS) is not used for F32: PyTorch has kept
 * `allow_tf32` off for matrix products since 1.12. No FP8 (that came with Hopper). Per-op overhead 5 us:
 * a kernel launch costs several microseconds (NVIDIA Technical Blog, "Getting Started with CUDA
 * Graphs", 2019).
 */
const A100: HardwareProfile = {
  name: 'a100',
  description: 'NVIDIA A100 SXM4 80GB (datasheet figures)',
  peak: { F64: 19.5 * T, F32: 19.5 * T, F16: 312 * T, BF16: 312 * T, F8: 19.5 * T, INT8: 624 * T },
  native: { F64: true, F32: true, F16: true, BF16: true, F8: false, INT8: true },
  bandwidth: 2039 * G,
  llc_bytes: 40 * 1000 * 1000,
  op_overhead: 5e-6,
  sources: [
    'NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM): FP64 TC 19.5, FP32 19.5, BF16/FP16 TC 312, INT8 TC 624 TOPS, HBM2e 2,039 GB/s',
    'NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020): 40 MB L2 cache',
    'per-op overhead: kernel launch of several microseconds (NVIDIA Technical Blog, Getting Started with CUDA Graphs, 2019)',
  ],
};

/** The profiles by name. */
export const HARDWARE_PROFILES: Readonly<Record<HardwareProfileName, HardwareProfile>> = { cpu: CPU, a100: A100 };

/** The profile called `name`. */
export function hardwareProfile(name: HardwareProfileName): HardwareProfile {
  return HARDWARE_PROFILES[name];
}
