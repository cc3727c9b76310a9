/**
 * Runs the C++ unit tests (test/native/cpp, built with CMake, no Node) through ctest, so that
 * `npm test` and CI cover them too.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

describe('C++ unit tests (ctest)', () => {
  it('build and pass', () => {
    const r = spawnSync('npm', ['run', '--silent', 'test:cpp'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out.slice(-4000)).toBe(0);
    expect(out).toMatch(/100% tests passed, 0 tests failed out of [1-9]/);
  }, 16 * 60_000);
});
