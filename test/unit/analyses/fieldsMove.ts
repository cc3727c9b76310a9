/**
 * The "no constant field" check: an analysis run on two different pairs must give, for every numeric
 * top-level field, two different values, or null with a reason.
 */
import { expect } from 'vitest';
import type { AnalysisResult } from '../../../lib/analyses/Analysis.js';

const META = new Set(['reasons', 'level', 'detail']);

/**
 * Asserts that every numeric (or numeric-array) field of `r1` / `r2` moved between the two results, or
 * is null in one of them with a reason. Returns the names of the fields checked (so a test can assert
 * it checked the ones it meant to).
 */
export function expectFieldsMove(key: string, r1: AnalysisResult, r2: AnalysisResult): string[] {
  const checked: string[] = [];
  const f1 = r1 as unknown as Record<string, unknown>;
  const f2 = r2 as unknown as Record<string, unknown>;
  for (const field of Object.keys(f1)) {
    if (META.has(field)) continue;
    const a = f1[field];
    const b = f2[field];
    const numeric = (v: unknown) => typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number'));
    if (!numeric(a) && !numeric(b)) continue;
    checked.push(field);
    if (a === null) expect(r1.reasons[field], `${key}.${field} null without a reason`).toEqual(expect.any(String));
    else if (b === null) expect(r2.reasons[field], `${key}.${field} null without a reason`).toEqual(expect.any(String));
    else expect(JSON.stringify(a), `${key}.${field} did not move between the two pairs`).not.toBe(JSON.stringify(b));
  }
  return checked;
}
