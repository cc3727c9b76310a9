#!/usr/bin/python3
"""The benchmark's peers: the statistics diffai computes, written with numpy or torch as an ML engineer
would, over the same two safetensors files.

  /usr/bin/python3 bench/peers/peer_stats.py numpy|torch A.safetensors B.safetensors [threads]

Per tensor of each file: count, mean, std (population), min, max, abs max, L1, L2, zeros, NaN, Inf
(over finite elements, as diffai); per tensor present in both with the same shape: rel_l2, cosine,
max |B-A|, mean |B-A|, changed count (exact equality, epsilon 0). Each statistic uses the fastest
natural call of the library at its default float32 precision (numpy's pairwise sums, torch's
cascade sums, BLAS sdot / vector_norm for norms and dots; counts through count_nonzero), measured
per operation on this machine: asking for float64 accumulation (dtype=float64) made torch's sums
about 20x slower and numpy's std 2x slower, so the peers are not held to diffai's float64
accumulation.

Files are opened with the standard library only (json header + mmap), no safetensors package: F32
and F16 are read in place, BF16 through its bit pattern (numpy has no bfloat16; torch reads it
natively). Prints one JSON line: {"seconds": compute time from opening the files to the last
statistic, "tensors": n, "checksum": a sum of every statistic (to keep the work from being skipped)}.
"""
import json
import math
import mmap
import struct
import sys
import time
import warnings


def read_header(path):
    f = open(path, 'rb')
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    header.pop('__metadata__', None)
    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return f, mm, 8 + n, header


def count_of(shape):
    c = 1
    for d in shape:
        c *= d
    return c


def numpy_backend():
    import numpy as np

    dtypes = {'F32': np.float32, 'F16': np.float16}

    def load(mm, base, entry):
        n = count_of(entry['shape'])
        off = base + entry['data_offsets'][0]
        dt = entry['dtype']
        if dt == 'BF16':
            bits = np.frombuffer(mm, dtype=np.uint16, count=n, offset=off)
            return (bits.astype(np.uint32) << 16).view(np.float32)
        x = np.frombuffer(mm, dtype=dtypes[dt], count=n, offset=off)
        return x if dt == 'F32' else x.astype(np.float32)

    def stats(x):
        nan = int(np.count_nonzero(np.isnan(x)))
        inf = int(np.count_nonzero(np.isinf(x)))
        n = x.size
        if nan or inf:
            x = x[np.isfinite(x)]
        ax = np.abs(x)
        return [n, float(x.mean()), float(x.std()), float(x.min()), float(x.max()),
                float(ax.max()), float(ax.sum()), float(np.linalg.norm(x)),
                int(np.count_nonzero(x == 0)), nan, inf]

    def pair(a, b, sa, sb):
        changed = int(np.count_nonzero(a != b))
        if sa[9] or sa[10] or sb[9] or sb[10]:
            keep = np.isfinite(a) & np.isfinite(b)
            a, b = a[keep], b[keep]
        d = b - a
        ad = np.abs(d)
        l2d = float(np.linalg.norm(d))
        rel = l2d / sa[7] if sa[7] > 0 else math.inf
        cos = float(np.dot(a, b)) / (sa[7] * sb[7]) if sa[7] * sb[7] > 0 else math.nan
        return [rel, cos, float(ad.max()) if ad.size else 0.0, float(ad.mean()) if ad.size else 0.0, changed]

    return load, stats, pair


def torch_backend(threads):
    import torch

    torch.set_num_threads(threads)
    dtypes = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}

    def load(mm, base, entry):
        n = count_of(entry['shape'])
        off = base + entry['data_offsets'][0]
        x = torch.frombuffer(mm, dtype=dtypes[entry['dtype']], count=n, offset=off)
        return x if entry['dtype'] == 'F32' else x.float()

    def stats(x):
        n = x.numel()
        ax = x.abs()
        nan = int(torch.count_nonzero(x != x))
        inf = int(torch.count_nonzero(ax == math.inf))
        if nan or inf:
            x = x[torch.isfinite(x)]
            ax = x.abs()
        mn, mx = torch.aminmax(x)
        return [n, float(x.mean()), float(x.std(unbiased=False)), float(mn), float(mx),
                float(ax.max()), float(ax.sum()), float(torch.linalg.vector_norm(x)),
                x.numel() - int(torch.count_nonzero(x)), nan, inf]

    def pair(a, b, sa, sb):
        changed = int(torch.count_nonzero(a != b))
        if sa[9] or sa[10] or sb[9] or sb[10]:
            keep = torch.isfinite(a) & torch.isfinite(b)
            a, b = a[keep], b[keep]
        d = b - a
        ad = d.abs()
        l2d = float(torch.linalg.vector_norm(d))
        rel = l2d / sa[7] if sa[7] > 0 else math.inf
        cos = float(torch.dot(a, b)) / (sa[7] * sb[7]) if sa[7] * sb[7] > 0 else math.nan
        return [rel, cos, float(ad.max()) if ad.numel() else 0.0, float(ad.mean()) if ad.numel() else 0.0, changed]

    return load, stats, pair


def main():
    backend, path_a, path_b = sys.argv[1], sys.argv[2], sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    warnings.filterwarnings('ignore')  # torch.frombuffer warns that the mmap is read-only
    load, stats, pair = numpy_backend() if backend == 'numpy' else torch_backend(threads)
    t0 = time.perf_counter()
    fa, ma, base_a, ha = read_header(path_a)
    fb, mb, base_b, hb = read_header(path_b)
    checksum = 0.0
    tensors = 0
    for name in sorted(set(ha) | set(hb)):
        ea, eb = ha.get(name), hb.get(name)
        a = load(ma, base_a, ea) if ea else None
        b = load(mb, base_b, eb) if eb else None
        sa = stats(a) if a is not None else None
        sb = stats(b) if b is not None else None
        values = (sa or []) + (sb or [])
        if a is not None and b is not None and ea['shape'] == eb['shape']:
            values += pair(a, b, sa, sb)
        checksum += sum(v for v in values if math.isfinite(v))
        tensors += 1
        del a, b
    seconds = time.perf_counter() - t0
    print(json.dumps({'seconds': seconds, 'tensors': tensors, 'checksum': checksum}))


if __name__ == '__main__':
    main()
