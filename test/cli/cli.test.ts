import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/runCli.js';
import { buildSafetensors, writeTemp } from '../helpers/safetensorsBuilder.js';

// A: w=[1,2,3,4], b=[0.5], gone=[1]; B: w=[1,2,3,5], b=[0.5], new=[7,8], shape change on s, dtype change on h.
const A = writeTemp(
  'cli_a.safetensors',
  buildSafetensors(
    {
      w: { dtype: 'F32', shape: [2, 2], values: [1, 2, 3, 4] },
      b: { dtype: 'F32', shape: [1], values: [0.5] },
      gone: { dtype: 'F32', shape: [1], values: [1] },
      s: { dtype: 'F32', shape: [2], values: [1, 2] },
      h: { dtype: 'F32', shape: [2], values: [0.1, 0.2] },
      z: { dtype: 'F32', shape: [2], values: [0, Number.NaN] },
    },
    { metadata: { step: '10' } },
  ),
);
const B = writeTemp(
  'cli_b.safetensors',
  buildSafetensors({
    w: { dtype: 'F32', shape: [2, 2], values: [1, 2, 3, 5] },
    b: { dtype: 'F32', shape: [1], values: [0.5] },
    new: { dtype: 'F32', shape: [2], values: [7, 8] },
    s: { dtype: 'F32', shape: [3], values: [1, 2, 3] },
    h: { dtype: 'F16', shape: [2], values: [0.1, 0.2] },
    z: { dtype: 'F32', shape: [2], values: [-0, Number.NaN] },
  }),
);

describe('diffai CLI: the diff', () => {
  it('prints one line per difference in the SPEC vocabulary and exits 1', () => {
    const r = runCli([A, B]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('~ w: mean=2.5->2.75, std=1.118->1.479, rel_l2=0.1826, cos=0.994, max_abs=1');
    expect(lines).toContain('- gone: shape=[1], dtype=F32, params=1');
    expect(lines).toContain('+ new: shape=[2], dtype=F32, params=2');
    expect(lines).toContain('! s: shape [2] -> [3]');
    expect(lines.find((l) => l.startsWith('! h: dtype F32 -> F16, rel_l2='))).toBeDefined();
    // b is unchanged; z differs only by -0/+0 and NaN at the same place: equal values, hidden.
    expect(lines.some((l) => l.includes(' b:') || l.includes(' z:'))).toBe(false);
    expect(lines[lines.length - 1]).toBe('summary: changed=1, unchanged=2, added=1, removed=1, shape_changed=1, dtype_changed=1 (7 tensors)');
  });

  it('shows unchanged tensors with --verbose', () => {
    const r = runCli([A, B, '--verbose']);
    expect(r.stdout).toContain('  b: unchanged, shape=[1], dtype=F32');
    expect(r.stdout).toContain('  z: unchanged, shape=[2], dtype=F32');
  });

  it('exits 0 and prints only the summary for identical inputs', () => {
    const r = runCli([A, A]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('summary: changed=0, unchanged=6, added=0, removed=0, shape_changed=0, dtype_changed=0 (6 tensors)\n');
  });

  it('--quiet prints nothing and keeps the exit code', () => {
    const r = runCli([A, B, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('--path and --ignore-keys-regex select tensors', () => {
    // 'new' contains a 'w' too.
    expect(runCli([A, B, '--path', 'w']).stdout).toBe(
      '+ new: shape=[2], dtype=F32, params=2\n~ w: mean=2.5->2.75, std=1.118->1.479, rel_l2=0.1826, cos=0.994, max_abs=1\nsummary: changed=1, unchanged=0, added=1, removed=0, shape_changed=0, dtype_changed=0 (2 tensors)\n',
    );
    const r = runCli([A, B, '--ignore-keys-regex', '^(w|gone|new|s|h)$']);
    expect(r.code).toBe(0);
  });

  it('--epsilon makes small changes equal', () => {
    const r = runCli([A, B, '--path', 'w', '--ignore-keys-regex', '^new$', '--epsilon', '1']);
    expect(r.code).toBe(0);
    const r2 = runCli([A, B, '--path', 'w', '--ignore-keys-regex', '^new$', '--epsilon', '0.999']);
    expect(r2.code).toBe(1);
  });

  it('writes the documented JSON document with -o json (NaN as a string)', () => {
    const r = runCli([A, B, '-o', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('diffai/1');
    expect(doc.inputs).toHaveLength(2);
    expect(doc.inputs[0]).toMatchObject({ path: A, format: 'safetensors', tensors: 6, params: 12, bytes: statSync(A).size, metadata: { step: '10' } });
    const w = doc.tensors.find((t: { name: string }) => t.name === 'w');
    expect(w.status).toBe('changed');
    expect(w.dtype).toEqual(['F32', 'F32']);
    expect(w.shape).toEqual([
      [2, 2],
      [2, 2],
    ]);
    expect(w.stats.a).toMatchObject({ count: 4, mean: 2.5, min: 1, max: 4, abs_max: 4, l1: 10, zeros: 0, nan: 0, inf: 0 });
    expect(w.stats.a.l2).toBeCloseTo(Math.sqrt(30), 12);
    expect(w.diff.rel_l2).toBeCloseTo(1 / Math.sqrt(30), 12);
    expect(w.diff.cosine).toBeCloseTo(34 / Math.sqrt(30 * 39), 12);
    expect(w.diff).toMatchObject({ max_abs: 1, mean_abs: 0.25, changed: 1 });
    const z = doc.tensors.find((t: { name: string }) => t.name === 'z');
    expect(z.status).toBe('unchanged');
    expect(z.stats.a.nan).toBe(1);
    expect(z.stats.a.zeros).toBe(1);
    const gone = doc.tensors.find((t: { name: string }) => t.name === 'gone');
    expect(gone.status).toBe('removed');
    expect(gone.stats.b).toBeNull();
    expect(doc.summary).toMatchObject({ added: 1, removed: 1, shape_changed: 1, dtype_changed: 1, changed: 1, unchanged: 2, total: 7, differences: true });
    expect(doc.analyses).toEqual({});
  });

  it('writes the same document as YAML with -o yaml', () => {
    const r = runCli([A, B, '-o', 'yaml']);
    const doc = parseYaml(r.stdout);
    const json = JSON.parse(runCli([A, B, '-o', 'json']).stdout);
    expect(doc.schema).toBe('diffai/1');
    expect(doc.summary).toEqual(json.summary);
    expect(doc.tensors.map((t: { name: string }) => t.name)).toEqual(json.tensors.map((t: { name: string }) => t.name));
  });

  it('takes the output format from DIFFAI_OUTPUT_FORMAT and from diffai.toml, flags first', () => {
    expect(JSON.parse(runCli([A, B], { env: { DIFFAI_OUTPUT_FORMAT: 'json' } }).stdout).schema).toBe('diffai/1');
    const cfg = writeTemp('fmt.toml', new TextEncoder().encode('[output]\nformat = "json"\n'));
    expect(JSON.parse(runCli([A, B, '--config', cfg]).stdout).schema).toBe('diffai/1');
    expect(runCli([A, B, '--config', cfg, '-o', 'cli']).stdout).toContain('summary: ');
  });
});

describe('diffai CLI: errors exit 2 with code and file', () => {
  it('names a missing file', () => {
    const r = runCli([A, '/nonexistent/model.safetensors']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ERR_FILE_NOT_FOUND: /nonexistent/model.safetensors: no such file or directory\n');
    expect(r.stdout).toBe('');
  });

  it('names a truncated safetensors file and the problem', () => {
    const bad = writeTemp('truncated.safetensors', buildSafetensors({ w: { dtype: 'F32', shape: [4], values: [1, 2, 3, 4] } }, { truncateTo: 40 }));
    const r = runCli([A, bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_SAFETENSORS_[A-Z_]+: .*truncated\.safetensors/);
  });

  it('prints a JSON error object with -o json', () => {
    const r = runCli([A, '/nonexistent/x.safetensors', '-o', 'json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      schema: 'diffai/1',
      error: { code: 'ERR_FILE_NOT_FOUND', message: '/nonexistent/x.safetensors: no such file or directory', file: '/nonexistent/x.safetensors' },
    });
  });

  it('rejects usage errors: one input, unknown flag, bad epsilon, bad regex', () => {
    expect(runCli([A])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: need at least 2 model files/) });
    expect(runCli([A, B, '--frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: unknown option '--frobnicate'/) });
    expect(runCli([A, B, '--epsilon', 'abc'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: --epsilon must be/) });
    expect(runCli([A, B, '--ignore-keys-regex', '('])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: --ignore-keys-regex: invalid/) });
    expect(runCli([A, B, '-o', 'xml'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: .*xml/) });
    expect(runCli([A, B, '--batch-tokens', '4294967296'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: --batch-tokens must be an integer from 1 to 2147483648 \(2\^31\), got "4294967296"/) });
  });

  it('refuses inverted thresholds with exit 2, naming both keys', () => {
    const r = runCli([A, B], { env: { DIFFAI_THRESHOLDS_SQNR_GOOD_DB: '10' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_CONFIG: \[thresholds\]\.sqnr_fair_db = 20 \(default\) is above \[thresholds\]\.sqnr_good_db = 10 \(environment\)/);
    expect(r.stdout).toBe('');
  });

  it('rejects an analysis this version does not implement, never answering it', () => {
    const r = runCli([A, B, '--attention-analysis']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_ANALYSIS_UNAVAILABLE: --attention-analysis \(attention_analysis\) is not available in this version/);
    expect(r.stdout).toBe('');
  });

  it('rejects a bad environment variable and a bad config key, naming them', () => {
    const r = runCli([A, B], { env: { DIFFAI_ANOMALY_THRESHOLD: 'lots' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_CONFIG: environment variable DIFFAI_ANOMALY_THRESHOLD="lots"/);
    const cfg = writeTemp('bad.toml', new TextEncoder().encode('[output]\nformt = "json"\n'));
    const r2 = runCli([A, B, '--config', cfg]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^ERR_CONFIG: .*bad\.toml: unknown key \[output\]\.formt/);
  });

  it('leaves DIFFAI_PREBUILD to the addon loader (not a config key)', () => {
    // node-gyp-build reads it as the directory to look for build/ and prebuilds/ in.
    expect(runCli([A, A], { env: { DIFFAI_PREBUILD: REPO_ROOT } }).code).toBe(0);
  });

  it('never modifies the input files', () => {
    const before = readFileSync(A);
    runCli([A, B, '-o', 'json']);
    expect(readFileSync(A).equals(before)).toBe(true);
  });
});

describe('diffai CLI: --help and --version', () => {
  it('prints help with exit 0', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: diffai [options] <A> <B> [C ...]');
    expect(r.stdout).toContain('--learning-progress');
  });

  it('prints the version, and the SIMD level with --verbose', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
    expect(runCli(['--version']).stdout).toBe(`diffai ${pkg.version}\n`);
    const v = runCli(['--version', '--verbose']).stdout;
    expect(v).toMatch(/native: simd=(scalar|avx2|avx512) \(available: scalar/);
  });
});


describe('diffai CLI: names from files cannot forge output', () => {
  it('escapes control characters in tensor names', () => {
    const evil = 'x: unchanged\nsummary: changed=0, unchanged=1, added=0, removed=0, shape_changed=0, dtype_changed=0 (1 tensors)\x1b[8m';
    const a = writeTemp('evil_a.safetensors', buildSafetensors({ [evil]: { dtype: 'F32', shape: [1], values: [1] } }));
    const b = writeTemp('evil_b.safetensors', buildSafetensors({ [evil]: { dtype: 'F32', shape: [1], values: [2] } }));
    const r = runCli([a, b, '--change-summary']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('~ x: unchanged\\nsummary: changed=0, unchanged=1, added=0, removed=0, shape_changed=0, dtype_changed=0 (1 tensors)\\u{1b}[8m: mean=1->2, std=0->0, rel_l2=1, cos=1, max_abs=1');
    expect(r.stdout).not.toContain('\x1b');
    expect(lines.filter((l) => l.startsWith('summary:'))).toHaveLength(1);
  });
});

describe('diffai CLI: inputs out of training order', () => {
  it('warns when step/epoch metadata decreases in the order given', () => {
    const ex = (f: string) => join(REPO_ROOT, 'examples', f);
    const r = runCli([ex('mlp_ep4.safetensors'), ex('mlp_ep2.safetensors'), ex('mlp_ep1.safetensors'), '--brief']);
    expect(r.stdout.split('\n')[0]).toBe(
      '[WARNING] inputs: the inputs are not in training order by their epoch metadata (4, 2, 1): diffai reads them in the order given, oldest first, so A -> B and every trajectory analysis run backwards where epochs decrease',
    );
    expect(JSON.parse(runCli([ex('mlp_ep2.safetensors'), ex('mlp_ep1.safetensors'), '-o', 'json']).stdout).warnings).toHaveLength(1);
    expect(runCli([ex('mlp_ep1.safetensors'), ex('mlp_ep2.safetensors')]).stdout).not.toContain('[WARNING]');
  });
});

describe('diffai CLI: 64-bit integers compare exactly', () => {
  it.each([
    ['I64', 2n ** 53n, 2n ** 53n + 1n],
    ['U64', 2n ** 64n - 1n, 2n ** 64n - 2n],
  ])('%s %s against %s is a change', (dtype, x, y) => {
    const bytes = (v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
      return b;
    };
    const a = writeTemp(`i64_a_${dtype}.safetensors`, buildSafetensors({ step: { dtype: dtype as 'I64', shape: [], bytes: bytes(x) } }));
    const b = writeTemp(`i64_b_${dtype}.safetensors`, buildSafetensors({ step: { dtype: dtype as 'I64', shape: [], bytes: bytes(y) } }));
    const r = runCli([a, b, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).tensors[0]).toMatchObject({ status: 'changed', diff: { changed: 1 } });
  });
});

describe('diffai CLI: strict flags and settings', () => {
  it.each(['', ' 1', '0x10', 'Infinity', '1e400', '-1', 'nan'])('rejects --epsilon %j', (eps) => {
    expect(runCli([A, B, '--epsilon', eps])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_USAGE: --epsilon must be a finite decimal number >= 0/) });
  });

  it('accepts --epsilon in decimal and exponent form', () => {
    expect(runCli([A, B, '--path', 'w', '--ignore-keys-regex', '^new$', '--epsilon', '1e0']).code).toBe(0);
    expect(runCli([A, B, '--path', 'w', '--ignore-keys-regex', '^new$', '--epsilon', '.5']).code).toBe(1);
  });

  it('rejects --quiet with --verbose', () => {
    expect(runCli([A, B, '-q', '-v'])).toMatchObject({ code: 2, stderr: 'ERR_USAGE: --quiet and --verbose contradict each other: choose one\n' });
  });

  it('--sort-key alone sorts (it implies --sort-by-change-magnitude)', () => {
    const doc = JSON.parse(runCli([A, B, '--sort-key', 'max_abs', '-o', 'json']).stdout);
    expect(Object.keys(doc.analyses)).toEqual(['sort_by_change_magnitude']);
  });

  it('marks the analyses this version does not have in --help', () => {
    const help = runCli(['--help']).stdout;
    expect(help).toMatch(/--learning-progress\s+analysis \(docs\/analyses\.md\)\n/);
    expect(help).toMatch(/--attention-analysis\s+analysis not available in this version\n/);
  });

  it('writes errors as a YAML document with -o yaml', () => {
    const r = runCli([A, '/nonexistent/y.safetensors', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(parseYaml(r.stdout)).toEqual({
      schema: 'diffai/1',
      error: { code: 'ERR_FILE_NOT_FOUND', message: '/nonexistent/y.safetensors: no such file or directory', file: '/nonexistent/y.safetensors' },
    });
  });

  it('says where a top-level config key belongs', () => {
    const cfg = writeTemp('toplevel.toml', new TextEncoder().encode('top_k = 3\n'));
    expect(runCli([A, B, '--config', cfg]).stderr).toMatch(/^ERR_CONFIG: .*toplevel\.toml: top_k must be inside a section: \[output\] top_k = \.\.\./);
  });

  it.each([
    ['DIFFAI_THREADS', 'abc', /DIFFAI_THREADS="abc": expected an integer from 1 to 1024/],
    ['DIFFAI_THREADS', '100000', /DIFFAI_THREADS="100000"/],
    ['DIFFAI_SIMD', 'avx1024', /DIFFAI_SIMD="avx1024": expected scalar, avx2 or avx512/],
  ])('rejects %s=%s', (name, value, message) => {
    const r = runCli([A, B], { env: { [name]: value } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('honours a valid DIFFAI_THREADS and DIFFAI_SIMD', () => {
    expect(runCli([A, B, '--quiet'], { env: { DIFFAI_THREADS: '1', DIFFAI_SIMD: 'scalar' } }).code).toBe(1);
  });
});

describe('diffai --version --verbose checks the native settings too', () => {
  it('refuses DIFFAI_SIMD=bogus instead of printing the level it would not use', () => {
    const r = runCli(['--version', '--verbose'], { env: { DIFFAI_SIMD: 'bogus' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_CONFIG: environment variable DIFFAI_SIMD="bogus"/);
  });
});

describe('diffai CLI: --input-shape is checked', () => {
  // a 1-channel CNN: conv1 [4, 1, 3, 3] -> conv2 [8, 4, 3, 3] -> fc [10, 8 x 7 x 7]
  const cnn = (seed: number) =>
    buildSafetensors({
      'conv1.weight': { dtype: 'F32', shape: [4, 1, 3, 3], values: Array.from({ length: 36 }, (_, i) => Math.sin(i + seed)) },
      'conv2.weight': { dtype: 'F32', shape: [8, 4, 3, 3], values: Array.from({ length: 288 }, (_, i) => Math.cos(i + seed)) },
      'fc.weight': { dtype: 'F32', shape: [10, 392], values: Array.from({ length: 3920 }, (_, i) => Math.sin(0.1 * i + seed)) },
    });
  const C1 = writeTemp('cnn_shape_a.safetensors', cnn(0));
  const C2 = writeTemp('cnn_shape_b.safetensors', cnn(1));

  it.each([
    ['28', '1 dimension: give C,H,W (images) or C,L (sequences), e.g. 1,28,28'],
    ['1,2,3,4', '4 dimensions: give C,H,W (images) or C,L (sequences), e.g. 1,28,28'],
    ['1,x,28', 'dimension 2 "x" is not an integer'],
    ['1,0,28', 'dimension 2 is 0: every dimension must be at least 1'],
    ['-1,28,28', 'dimension 1 is -1: every dimension must be at least 1'],
    ['1,2000000,28', 'dimension 2 is 2000000: at most 1048576 (2^20) per dimension'],
    ['1024,1048576,1048576', '1.13e+15 elements per sample: at most 2^40 (1099511627776)'],
  ])('rejects --input-shape %s with exit 2, naming the flag and the problem', (shape, problem) => {
    const r = runCli([C1, C2, '--inference-speed-estimate', '--input-shape', shape]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`ERR_USAGE: --input-shape ${JSON.stringify(shape)}: ${problem} (expected C,H,W or C,L, e.g. 1,28,28)\n`);
  });

  it('rejects the same in diffai.toml, naming the key', () => {
    const cfg = writeTemp('shape.toml', new TextEncoder().encode('[thresholds]\ninput_shape = "1,0,28"\n'));
    const r = runCli([C1, C2, '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_CONFIG: .*shape\.toml: \[thresholds\]\.input_shape = "1,0,28": expected C,H,W or C,L, e.g\. 1,28,28 \(dimension 2 is 0: every dimension must be at least 1\)/);
  });

  it('a valid shape that does not fit the model is no error: the conv layers are not covered, with the mismatch named', () => {
    const ok = runCli([C1, C2, '--inference-speed-estimate', '--brief', '--input-shape', '1,28,28']);
    expect(ok.code).toBe(1);
    expect(ok.stdout).not.toContain('not covered');
    const channels = runCli([C1, C2, '--inference-speed-estimate', '--brief', '--input-shape', '3,28,28']);
    expect(channels.code).toBe(1);
    expect(channels.stdout).toContain('; not covered: conv1.weight, conv2.weight (the input shape 3,28,28 has 3 channels, but the first conv layer conv1.weight [4, 1, 3, 3] takes 1: 3 would need 3 groups, which do not divide its 4 output channels)');
    const rank = runCli([C1, C2, '--inference-speed-estimate', '--brief', '--input-shape', '1,784']);
    expect(rank.stdout).toContain('; not covered: conv1.weight, conv2.weight (the input shape 1,784 has 1 spatial dimension, but a 2-D conv layer needs C,H,W)');
    const json = JSON.parse(runCli([C1, C2, '--inference-speed-estimate', '--input-shape', '3,28,28', '-o', 'json']).stdout);
    expect(json.analyses.inference_speed_estimate.detail.input_shape_problem).toBe('the input shape 3,28,28 has 3 channels, but the first conv layer conv1.weight [4, 1, 3, 3] takes 1: 3 would need 3 groups, which do not divide its 4 output channels');
  });
});
