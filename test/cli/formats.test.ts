/**
 * The CLI on other formats: `--scan`, directory pairs, malicious pickles refused (exit 2, nothing run).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { model, REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/runCli.js';

const MALICIOUS = join(REPO_ROOT, 'test/fixtures/formats/malicious');
const EXAMPLES = join(REPO_ROOT, 'examples');

describe('diffai --scan', () => {
  it('reports real checkpoints as safe and exits 0', () => {
    const r = runCli(['--scan', model('trained/mlp_ep4.pt'), model('trained/cnn_ep3_legacy.pth')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`scan: ${model('trained/mlp_ep4.pt')}: safe (1 pickle)\nscan: ${model('trained/cnn_ep3_legacy.pth')}: safe (5 pickles)\n`);
  });

  it('names each dangerous global with where it is, and exits 1', () => {
    const f = join(MALICIOUS, 'zip_stack_global.pt');
    const r = runCli(['--scan', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`[CRITICAL] scan: ${f}: dangerous global subprocess.Popen in archive/data.pkl (STACK_GLOBAL at byte 21)\n`);
    const doc = JSON.parse(runCli(['--scan', f, '-o', 'json']).stdout);
    expect(doc.summary).toEqual({ files: 1, unsafe: 1, errors: 0 });
    expect(doc.scans[0].findings[0]).toMatchObject({ global: 'subprocess.Popen', opcode: 'STACK_GLOBAL', severity: 'dangerous' });
  });
});

describe('diffai on a malicious pickle', () => {
  it('refuses it with ERR_PICKLE_UNSAFE_GLOBAL, exit 2, and runs nothing', () => {
    // The payload runs `touch /tmp/diffai_fixture_marker_global_reduce` when unpickled by Python
    // (test/fixtures/formats/generate.py proves it live).
    const markerFile = '/tmp/diffai_fixture_marker_global_reduce';
    rmSync(markerFile, { force: true });
    const r = runCli([join(EXAMPLES, 'mlp_ep4.safetensors'), join(MALICIOUS, 'zip_global_reduce.pt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_PICKLE_UNSAFE_GLOBAL: .*zip_global_reduce\.pt.*os\.system.*nothing was executed/);
    expect(existsSync(markerFile)).toBe(false);
  });
});

describe('diffai dirA dirB', () => {
  it('pairs model files by relative path, lists one-sided files, and exits 1 on differences', () => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-dirs-'));
    for (const d of ['a/sub', 'b/sub']) mkdirSync(join(t, d), { recursive: true });
    copyFileSync(join(EXAMPLES, 'mlp_ep1.safetensors'), join(t, 'a/m.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep4.safetensors'), join(t, 'b/m.safetensors'));
    copyFileSync(join(EXAMPLES, 'wakeword_hello_deepa_old.safetensors'), join(t, 'a/sub/w.safetensors'));
    copyFileSync(join(EXAMPLES, 'wakeword_hello_deepa_old.safetensors'), join(t, 'b/sub/w.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep2.safetensors'), join(t, 'a/old.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep2.safetensors'), join(t, 'b/new.safetensors'));
    writeFileSync(join(t, 'b/notes.txt'), 'not a model');
    const a = join(t, 'a');
    const b = join(t, 'b');
    const r = runCli([a, b, '--brief']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        '== m.safetensors',
        'summary: changed=6, unchanged=0, added=0, removed=0, shape_changed=0, dtype_changed=0 (6 tensors)',
        '== sub/w.safetensors',
        'summary: changed=0, unchanged=14, added=0, removed=0, shape_changed=0, dtype_changed=0 (14 tensors)',
        `- file old.safetensors: only in ${a}`,
        `+ file new.safetensors: only in ${b}`,
        'directory summary: compared=2, differing=1, only_a=1, only_b=1, ignored=1',
        '',
      ].join('\n'),
    );
    const doc = JSON.parse(runCli([a, b, '-o', 'json']).stdout);
    expect(doc.files.map((f: { relative: string }) => f.relative)).toEqual(['m.safetensors', 'sub/w.safetensors']);
    expect(doc.files[0].summary.changed).toBe(6);
    expect(doc).toMatchObject({ only_a: ['old.safetensors'], only_b: ['new.safetensors'], ignored: ['notes.txt'] });
  });

  it('exits 0 for two directories with the same models', () => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-dirs-'));
    for (const d of ['a', 'b']) {
      mkdirSync(join(t, d));
      copyFileSync(join(EXAMPLES, 'mlp_ep1.safetensors'), join(t, d, 'm.safetensors'));
      copyFileSync(join(EXAMPLES, 'mlp_ep4.safetensors'), join(t, d, 'n.safetensors'));
    }
    expect(runCli([join(t, 'a'), join(t, 'b')]).code).toBe(0);
  });
});

describe('cross-format through the CLI', () => {
  it.each([
    ['npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.pt'],
    ['npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.npz'],
    ['npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.mat'],
    ['trained/mlp_ep4.pt', 'trained/mlp_ep4.safetensors'],
    ['trained/cnn_ep3_legacy.pth', 'trained/cnn_ep3.safetensors'],
    ['gguf/gpt_step600.f32.gguf', 'trained/gpt_step600.safetensors'],
    ['trained/matlab/mlp_ep4.mat', 'trained/mlp_ep4.safetensors'],
  ])('%s against %s: no differences (exit 0)', (a, b) => {
    const r = runCli([model(a), model(b)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('gpt_step600.pt against its safetensors: lm_head.weight is a tied alias, not a removal', () => {
    const r = runCli([model('trained/gpt_step600.pt'), model('trained/gpt_step600.safetensors')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('= lm_head.weight: tied alias of tok_emb.weight (only in A; not a difference)');
    expect(r.stdout).toContain('tied_aliases=1');
  });

  it('GGUF Q8_0 against F32: dtype changes with small rel_l2', () => {
    const r = runCli([model('gguf/gpt_step600.f32.gguf'), model('gguf/gpt_step600.q8_0.gguf'), '-o', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    const changed = doc.tensors.filter((t: { status: string }) => t.status === 'dtype_changed');
    expect(changed.length).toBeGreaterThan(0);
    for (const t of changed) {
      expect(t.dtype).toEqual(['F32', 'Q8_0']);
      expect(t.diff.rel_l2).toBeGreaterThan(1e-4);
      expect(t.diff.rel_l2).toBeLessThan(2e-2);
    }
  });
});

describe('diffai reads what a file is, not what it is called', () => {
  it.each([
    ['trained/mlp_ep4.pt', 'x.safetensors', 'trained/mlp_ep4.safetensors'],
    ['gguf/gpt_step600.f32.gguf', 'g.safetensors', 'trained/gpt_step600.safetensors'],
    ['trained/numpy/mlp_ep4.npz', 'n.pt', 'trained/mlp_ep4.safetensors'],
  ])('%s renamed to %s compares equal to %s', (src, renamed, twin) => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-renamed-'));
    copyFileSync(model(src), join(t, renamed));
    const r = runCli([model(twin), join(t, renamed)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('inputs that are not regular files', () => {
  it('refuses a FIFO at once instead of blocking on it', () => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-fifo-'));
    const fifo = join(t, 'model.safetensors');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = runCli([join(EXAMPLES, 'mlp_ep4.safetensors'), fifo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ERR_FILE_IO: ${fifo}: a FIFO, not a regular file; diffai reads model files\n`);
    expect(runCli(['--scan', fifo]).code).toBe(2);
  });

  it('compares a directory holding one weights file and a subfolder file by file', () => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-subdir-'));
    for (const d of ['a/ckpt', 'b/ckpt']) mkdirSync(join(t, d), { recursive: true });
    copyFileSync(join(EXAMPLES, 'mlp_ep4.safetensors'), join(t, 'a/model.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep4.safetensors'), join(t, 'b/model.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep1.safetensors'), join(t, 'a/ckpt/step1.safetensors'));
    copyFileSync(join(EXAMPLES, 'mlp_ep2.safetensors'), join(t, 'b/ckpt/step1.safetensors'));
    const r = runCli([join(t, 'a'), join(t, 'b'), '--brief']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('== ckpt/step1.safetensors\nsummary: changed=6');
    expect(r.stdout).toContain('directory summary: compared=2, differing=1');
  });
});

describe('diffai --scan with a file that cannot be read', () => {
  it('still reports the findings of the others, then exits 2', () => {
    const evil = join(MALICIOUS, 'zip_stack_global.pt');
    const r = runCli(['--scan', evil, '/nonexistent/model.pt']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('[CRITICAL] scan: ');
    expect(r.stdout).toContain('subprocess.Popen');
    expect(r.stderr).toBe('ERR_FILE_NOT_FOUND: /nonexistent/model.pt: no such file or directory\n');
    const doc = JSON.parse(runCli(['--scan', evil, '/nonexistent/model.pt', '-o', 'json']).stdout);
    expect(doc.summary).toEqual({ files: 2, unsafe: 1, errors: 1 });
    expect(doc.scans[1]).toEqual({ path: '/nonexistent/model.pt', error: { code: 'ERR_FILE_NOT_FOUND', message: '/nonexistent/model.pt: no such file or directory' } });
  });
});

describe('float weights against integer codes', () => {
  it('does not print a raw code difference as if it were a weight change', () => {
    const r = runCli([model('trained/mlp_ep4.safetensors'), model('trained/mlp_final_int8.safetensors')]);
    expect(r.stdout).toContain('! fc1.weight: dtype F32 -> I8 (integer codes, not compared as values; --quantization-analysis dequantizes them)');
    const q = runCli([model('trained/mlp_ep4.safetensors'), model('trained/mlp_final_int8.safetensors'), '--quantization-analysis']);
    expect(q.stdout).toMatch(/! fc1\.weight: dtype F32 -> I8, dequantized rel_l2=0\.00\d+, max_abs=/);
  });
});

describe('a config.json beside the weights that cannot be read', () => {
  it('is reported as a warning, and the diff still runs', () => {
    const t = mkdtempSync(join(tmpdir(), 'diffai-badcfg-'));
    copyFileSync(join(EXAMPLES, 'mlp_ep1.safetensors'), join(t, 'model.safetensors'));
    writeFileSync(join(t, 'config.json'), '{not json');
    const r = runCli([t, join(EXAMPLES, 'mlp_ep4.safetensors'), '--brief']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/^\[WARNING\] inputs: .*config\.json: .* \(the config\.json is ignored: its model type and head counts are not used\)$/);
  });
});
